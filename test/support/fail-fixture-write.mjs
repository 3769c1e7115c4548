/**
 * A `node --import` hook for the dump tests: the disk "fills up" when the CLI writes a file named
 * users.json (fs/promises writeFile rejects with ENOSPC after writing half of it), so a dump fails
 * halfway through writing its directory. Everything else is the real file system.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const fsp = require('node:fs/promises');
const writeFile = fsp.writeFile;
fsp.writeFile = async (file, data, options) => {
  if (String(file).endsWith('users.json')) {
    await writeFile(file, String(data).slice(0, Math.floor(String(data).length / 2)), options);
    throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  }
  return writeFile(file, data, options);
};
syncBuiltinESMExports();
