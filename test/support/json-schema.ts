/**
 * A small JSON Schema validator for the shapes in docs/json: the subset those schemas use
 * (`type` (one or a list), `properties`, `required`, `additionalProperties` (false or a schema),
 * `items`, `enum`, `const`, `anyOf`, `$ref` to `#/$defs/...`, `minimum`, and `format: date-time`,
 * which must be ISO 8601 in UTC with `Z`). A keyword outside the subset is an error, so a schema
 * never silently checks less than it says.
 */
type Schema = Record<string, unknown> | boolean;

const KNOWN = new Set([
  '$schema', '$id', '$defs', '$comment', 'title', 'description',
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', 'minimum', 'format',
]);

const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Every way `value` breaks `schema`, as `path: problem` lines; empty when it conforms. */
export function validate(schema: Schema, value: unknown, root: Schema = schema, at = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${at}: not allowed`];
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) return [`${at}: the schema uses "${k}", which this validator does not check`];
  if (typeof schema.$ref === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
    const target = m && typeof root === 'object' ? (root.$defs as Record<string, Schema> | undefined)?.[m[1] as string] : undefined;
    if (target === undefined) return [`${at}: unresolved $ref ${schema.$ref}`];
    return validate(target, value, root, at);
  }
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [`${at}: ${t}, expected ${types.join(' or ')}`];
  }
  if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) errors.push(`${at}: not ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof schema.minimum === 'number' && typeof value === 'number' && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
  if (schema.format === 'date-time' && typeof value === 'string' && !ISO_Z.test(value)) errors.push(`${at}: "${value}" is not ISO 8601 UTC with Z`);
  if (Array.isArray(schema.anyOf)) {
    const all = (schema.anyOf as Schema[]).map((s) => validate(s, value, root, at));
    if (!all.some((e) => e.length === 0)) errors.push(`${at}: matches no anyOf branch (${all.map((e) => e[0]).join('; ')})`);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, root, `${at}[${i}]`)));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errors.push(`${at}: missing "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errors.push(...validate(props[k] as Schema, v, root, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unexpected key "${k}"`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...validate(schema.additionalProperties as Schema, v, root, `${at}.${k}`));
    }
  }
  return errors;
}

/** Property names a schema declares that are not snake_case (`$defs` included). */
export function nonSnakeKeys(schema: unknown, at = '$'): string[] {
  if (schema === null || typeof schema !== 'object') return [];
  const s = schema as Record<string, unknown>;
  const out: string[] = [];
  for (const k of Object.keys((s.properties ?? {}) as object)) if (!/^[a-z][a-z0-9_]*$/.test(k)) out.push(`${at}.${k}`);
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties' || k === '$defs') for (const [pk, pv] of Object.entries(v as object)) out.push(...nonSnakeKeys(pv, `${at}.${pk}`));
    else if (typeof v === 'object') out.push(...nonSnakeKeys(v, `${at}.${k}`));
  }
  return out;
}
