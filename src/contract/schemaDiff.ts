/**
 * Field-by-field difference between two JSON Schemas (as TypeBox writes them): what a
 * reader built from one schema would reject in results written under the other.
 */
export type DifferenceKind = 'missing' | 'added' | 'type-changed' | 'renamed';

export interface SchemaDifference {
  /** JSON pointer, `*` for array items, e.g. /metrics/stage_times */
  path: string;
  kind: DifferenceKind;
  detail: string;
}

type Schema = Record<string, unknown>;

function asSchema(value: unknown): Schema {
  return typeof value === 'object' && value !== null ? (value as Schema) : {};
}

/** The JSON types a schema admits, e.g. {"integer","null"}. Integer counts as number too. */
function kindsOf(schema: Schema): Set<string> {
  const kinds = new Set<string>();
  const variants = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(variants)) {
    for (const variant of variants) for (const kind of kindsOf(asSchema(variant))) kinds.add(kind);
    return kinds;
  }
  if ('const' in schema) {
    const value = schema.const;
    kinds.add(value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value);
    return kinds;
  }
  const type = schema.type;
  for (const t of Array.isArray(type) ? type : type === undefined ? ['any'] : [type])
    kinds.add(String(t));
  return kinds;
}

function describeKinds(kinds: Set<string>): string {
  return [...kinds].sort().join(' | ');
}

/** Writer kinds the reader would not accept. */
function rejectedKinds(reader: Set<string>, writer: Set<string>): string[] {
  if (reader.has('any')) return [];
  return [...writer].filter((k) => !(reader.has(k) || (k === 'integer' && reader.has('number'))));
}

/** The object variant of a schema (unwrapping a nullable union), if any. */
function objectPart(schema: Schema): Schema | null {
  if (schema.type === 'object') return schema;
  const variants = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (!Array.isArray(variants)) return null;
  for (const v of variants) {
    const o = objectPart(asSchema(v));
    if (o) return o;
  }
  return null;
}

function arrayPart(schema: Schema): Schema | null {
  if (schema.type === 'array') return schema;
  const variants = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (!Array.isArray(variants)) return null;
  for (const v of variants) {
    const a = arrayPart(asSchema(v));
    if (a) return a;
  }
  return null;
}

function diffObjects(reader: Schema, writer: Schema, path: string, out: SchemaDifference[]): void {
  const rProps = asSchema(reader.properties);
  const wProps = asSchema(writer.properties);
  const rRequired = new Set((reader.required as string[] | undefined) ?? []);
  const wRequired = new Set((writer.required as string[] | undefined) ?? []);
  const missing: string[] = [];
  const added: string[] = [];

  for (const name of Object.keys(rProps)) {
    if (!(name in wProps)) {
      if (rRequired.has(name)) missing.push(name);
      continue;
    }
    if (rRequired.has(name) && !wRequired.has(name)) {
      out.push({
        path: `${path}/${name}`,
        kind: 'missing',
        detail: 'required by this build, optional in the other, so it may be absent',
      });
    }
    diffSchemas(asSchema(rProps[name]), asSchema(wProps[name]), `${path}/${name}`, out);
  }
  for (const name of Object.keys(wProps)) {
    if (!(name in rProps) && reader.additionalProperties === false) added.push(name);
  }

  // A field that vanished where another of the same kind appeared reads as a rename.
  for (const gone of [...missing]) {
    const goneKinds = describeKinds(kindsOf(asSchema(rProps[gone])));
    const twin = added.find((name) => describeKinds(kindsOf(asSchema(wProps[name]))) === goneKinds);
    if (twin) {
      missing.splice(missing.indexOf(gone), 1);
      added.splice(added.indexOf(twin), 1);
      out.push({
        path: `${path}/${gone}`,
        kind: 'renamed',
        detail: `looks renamed: the other writes "${twin}" where this build requires "${gone}"`,
      });
    }
  }
  for (const name of missing) {
    out.push({
      path: `${path}/${name}`,
      kind: 'missing',
      detail: 'required property missing: the other never writes it',
    });
  }
  for (const name of added) {
    out.push({
      path: `${path}/${name}`,
      kind: 'added',
      detail: `the other writes "${name}" (${describeKinds(kindsOf(asSchema(wProps[name])))}), which this build rejects as unknown`,
    });
  }
}

/**
 * Differences that make `reader` reject something `writer` may produce. An empty list
 * means every value valid under writer is valid under reader (as far as these
 * structural rules see: types, properties, required, additionalProperties, items).
 */
export function diffSchemas(
  reader: unknown,
  writer: unknown,
  path = '',
  out: SchemaDifference[] = [],
): SchemaDifference[] {
  const r = asSchema(reader);
  const w = asSchema(writer);
  const rKinds = kindsOf(r);
  const wKinds = kindsOf(w);
  const rejected = rejectedKinds(rKinds, wKinds);
  if (rejected.length > 0) {
    out.push({
      path: path || '/',
      kind: 'type-changed',
      detail: `the other writes ${describeKinds(wKinds)}, this build accepts ${describeKinds(rKinds)}`,
    });
    return out;
  }
  const rObject = objectPart(r);
  const wObject = objectPart(w);
  if (rObject && wObject) diffObjects(rObject, wObject, path, out);
  const rArray = arrayPart(r);
  const wArray = arrayPart(w);
  if (rArray && wArray)
    diffSchemas(asSchema(rArray.items), asSchema(wArray.items), `${path}/*`, out);
  return out;
}
