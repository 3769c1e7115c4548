/** `auth.bulk`: user import and export bound to the facade's context. */
import type { CoreContext } from '../context.js';
import { exportUsers, type ExportedUser, type ExportOptions } from './export.js';
import { importUsers, type UserImportOptions } from './import.js';
import type { ImportReport } from './types.js';

export class BulkUserService {
  constructor(private readonly ctx: CoreContext) {}

  /** Import users from a CSV, JSON Lines or JSON file (see import.ts). */
  import(file: string, options: UserImportOptions): Promise<ImportReport> {
    return importUsers(this.ctx, file, options);
  }

  /** Every user with its groups, a page at a time. */
  export(options: ExportOptions = {}): AsyncGenerator<ExportedUser[]> {
    return exportUsers(this.ctx.db, options);
  }
}
