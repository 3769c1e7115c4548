/**
 * A normalised description of a schema from the PostgreSQL catalog: tables, columns (type,
 * nullability, default), constraints (with definitions) and indexes, so two databases can be
 * compared exactly.
 */
import type { Knex } from 'knex';

export interface ColumnInfo {
  type: string;
  nullable: boolean;
  default: string | null;
}

export interface TableInfo {
  columns: Record<string, ColumnInfo>;
  constraints: Record<string, string>;
  indexes: Record<string, string>;
}

export async function describeSchema(knex: Knex): Promise<Record<string, TableInfo>> {
  const tables = await knex.raw(
    `select c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type,
            a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
       left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
      where n.nspname = current_schema() and c.relkind = 'r'
      order by c.relname, a.attnum`,
  );
  const out: Record<string, TableInfo> = {};
  for (const r of tables.rows as { table: string; column: string; type: string; not_null: boolean; default: string | null }[]) {
    const t = (out[r.table] ??= { columns: {}, constraints: {}, indexes: {} });
    t.columns[r.column] = { type: r.type, nullable: !r.not_null, default: r.default };
  }
  const constraints = await knex.raw(
    `select c.relname as table, k.conname as name, pg_get_constraintdef(k.oid) as def
       from pg_constraint k
       join pg_class c on c.oid = k.conrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and k.contype in ('p', 'u', 'f', 'c')
      order by 1, 2`,
  );
  for (const r of constraints.rows as { table: string; name: string; def: string }[]) {
    const t = out[r.table];
    if (t) t.constraints[r.name] = r.def;
  }
  const indexes = await knex.raw(
    `select tablename as table, indexname as name, indexdef as def
       from pg_indexes where schemaname = current_schema() order by 1, 2`,
  );
  for (const r of indexes.rows as { table: string; name: string; def: string }[]) {
    const t = out[r.table];
    // The schema name in index definitions differs by nothing but is noise; drop it.
    if (t) t.indexes[r.name] = r.def.replace(/ ON \w+\./, ' ON ');
  }
  return out;
}
