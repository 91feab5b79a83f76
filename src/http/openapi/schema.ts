// TypeBox writes JSON Schema in the 2020-12 style (`const`, `anyOf` with `{type: 'null'}`), which OpenAPI
// 3.0.3 does not know: validators reject it and generators turn such fields into `unknown`. These
// functions rewrite a schema into the 3.0.3 dialect (`enum`, `nullable: true`) and move every titled
// schema into components, so each shared model is written once and referenced by `$ref`.
export type Json = Record<string, any>

const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value && typeof value === 'object'
      ? `{${Object.keys(value).filter((k) => (value as Json)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`).join(',')}}`
      : JSON.stringify(value)

const isNull = (s: Json) => s.type === 'null' && Object.keys(s).length === 1
const isConst = (s: Json) => 'const' in s

/**
 * An answer's schema as a client should read it: open to fields added later. (Elysia marks response
 * schemas closed at run time, on the shared TypeBox objects, depending on which routes validated first.)
 */
export function openForReading(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(openForReading) as unknown as Json
  if (!schema || typeof schema !== 'object') return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'additionalProperties' && value === false) continue
    out[key] = key === 'enum' || key === 'required' || key === 'example' ? value : openForReading(value)
  }
  return out
}

/** The schema in the OpenAPI 3.0.3 dialect; nested titled schemas stay inline (see `hoist`). */
export function toOas30(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toOas30) as unknown as Json
  if (!schema || typeof schema !== 'object') return schema
  const { $id, $schema, ...rest } = schema
  const out: Json = {}
  for (const [key, value] of Object.entries(rest)) {
    if (key === 'properties' && value && typeof value === 'object') out.properties = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, toOas30(v)]))
    else if (key === 'items' || key === 'additionalProperties' || key === 'not') out[key] = typeof value === 'object' ? toOas30(value) : value
    else if (key === 'anyOf' || key === 'oneOf' || key === 'allOf') out[key] = (value as Json[]).map(toOas30)
    else out[key] = value
  }
  if (isConst(out)) {
    const { const: value, ...others } = out
    return { type: typeof value === 'number' ? 'number' : typeof value, ...others, enum: [value] }
  }
  const options: Json[] | undefined = out.anyOf
  if (!options) return out
  const { anyOf, ...outer } = out
  const nullable = options.some(isNull)
  const present = options.filter((o) => !isNull(o))
  let merged: Json
  if (present.length > 0 && present.every((o) => Array.isArray(o.enum) && o.type === present[0]!.type)) {
    // A union of literals is an enum: generators make it a union of literal types.
    merged = { type: present[0]!.type, enum: present.flatMap((o) => o.enum) }
  } else if (present.length === 1) {
    merged = { ...present[0] }
  } else {
    merged = { anyOf: present }
  }
  return { ...merged, ...outer, ...(nullable ? { nullable: true } : {}) }
}

/**
 * Replaces every schema with a `title` by a `$ref` to `components.schemas[title]`, registering it once.
 * Two different schemas under one title would make one of them lie, so that is an error at build time.
 */
export function hoist(schema: Json, components: Json): Json {
  if (Array.isArray(schema)) return schema.map((s) => hoist(s, components)) as unknown as Json
  if (!schema || typeof schema !== 'object') return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value && typeof value === 'object') out.properties = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, hoist(v, components)]))
    else if (key === 'items' || key === 'additionalProperties') out[key] = typeof value === 'object' ? hoist(value, components) : value
    else if (key === 'anyOf' || key === 'oneOf' || key === 'allOf') out[key] = (value as Json[]).map((s) => hoist(s, components))
    else out[key] = value
  }
  if (typeof out.title !== 'string' || out.$ref) return out
  const name = out.title
  const known = components[name]
  if (known && canonical(known) !== canonical(out)) {
    throw new Error(`OpenAPI: two different schemas are titled ${name}; give one another title:\n${JSON.stringify(known)}\n${JSON.stringify(out)}`)
  }
  components[name] = out
  return { $ref: `#/components/schemas/${name}` }
}
