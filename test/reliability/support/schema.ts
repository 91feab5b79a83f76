// A small JSON Schema validator for the subset the OpenAPI document uses (type, const, enum, anyOf/oneOf/
// allOf, properties, required, additionalProperties, items, min/max, lengths, pattern, formats uuid and
// date-time, $ref to components, nullable). Returns the first mismatch, or null.

type Schema = Record<string, any>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

export function mismatch(schema: Schema, value: unknown, root: Schema, at = '$'): string | null {
  if (schema.$ref) {
    const target = (schema.$ref as string).replace(/^#\//, '').split('/').reduce((node: any, key) => node?.[key], root)
    if (!target) return `${at}: unresolved ${schema.$ref}`
    return mismatch(target, value, root, at)
  }
  if (schema.nullable && value === null) return null
  if (schema.anyOf || schema.oneOf) {
    const options: Schema[] = schema.anyOf ?? schema.oneOf
    return options.some((s) => mismatch(s, value, root, at) === null) ? null : `${at}: matches none of ${options.length} options`
  }
  if (schema.allOf) for (const s of schema.allOf as Schema[]) {
    const m = mismatch(s, value, root, at)
    if (m) return m
  }
  if ('const' in schema && value !== schema.const) return `${at}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`
  if (schema.enum && !schema.enum.includes(value)) return `${at}: ${JSON.stringify(value)} not in enum`
  if (schema.type) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type]
    const actual = typeOf(value)
    const ok = types.includes(actual) || (actual === 'integer' && types.includes('number'))
    if (!ok) return `${at}: ${actual} is not ${types.join('|')}`
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `${at}: ${value} < ${schema.minimum}`
    if (schema.maximum !== undefined && value > schema.maximum) return `${at}: ${value} > ${schema.maximum}`
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return `${at}: shorter than ${schema.minLength}`
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `${at}: longer than ${schema.maxLength}`
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) return `${at}: does not match ${schema.pattern}`
    if (schema.format === 'uuid' && !UUID.test(value)) return `${at}: not a uuid`
    if (schema.format === 'date-time' && !DATE_TIME.test(value)) return `${at}: not a date-time`
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return `${at}: fewer than ${schema.minItems} items`
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${at}: more than ${schema.maxItems} items`
    if (schema.items) for (const [i, item] of value.entries()) {
      const m = mismatch(schema.items, item, root, `${at}[${i}]`)
      if (m) return m
    }
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>
    for (const key of (schema.required ?? []) as string[]) if (!(key in object)) return `${at}.${key}: missing`
    const properties: Record<string, Schema> = schema.properties ?? {}
    for (const [key, v] of Object.entries(object)) {
      if (properties[key]) {
        const m = mismatch(properties[key]!, v, root, `${at}.${key}`)
        if (m) return m
      } else if (schema.additionalProperties === false) return `${at}.${key}: not in the schema`
    }
  }
  return null
}
