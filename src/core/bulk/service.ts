/** `auth.bulk`: user import and export bound to the facade's context. */
import type { CoreContext } from '../context.js';
import { countUsers, exportUsers, recordExport, type AuditedExportOptions, type ExportedUser } from './export.js';
import { importUsers, type UserImportOptions } from './import.js';
import type { ImportSource } from './source.js';
import type { ImportReport } from './types.js';

export class BulkUserService {
  constructor(private readonly ctx: CoreContext) {}

  /** Import users from a CSV, JSON Lines or JSON file, or an `ImportInput` (see import.ts). */
  import(file: ImportSource, options: UserImportOptions): Promise<ImportReport> {
    return importUsers(this.ctx, file, options);
  }

  /**
   * Every user with its groups, a page at a time. The export is in the audit log (committed,
   * outside a transaction) before the first user is read: when the audit row cannot be written,
   * this throws before yielding anything, so no user (and no hash) leaves unrecorded.
   */
  async *export(options: AuditedExportOptions = {}): AsyncGenerator<ExportedUser[]> {
    const users = await countUsers(this.ctx.db);
    await recordExport(this.ctx, {
      users,
      withHashes: !!options.withHashes,
      format: options.format ?? 'jsonl',
      destination: options.destination ?? 'caller',
    });
    yield* exportUsers(this.ctx.db, options);
  }
}
