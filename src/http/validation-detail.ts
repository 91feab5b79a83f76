import { ValueErrorType } from '@sinclair/typebox/errors'

// The detail of a 400 for a request its schema refused: where, and what is taken there. TypeBox's own
// messages name a type ("Expected integer") or a raw rule ("Expected string to match '^[0-9a-fA-F]{8}-…$'",
// "Expected union value"), not what a client should send (helper-59, helper-60): the field's schema says
// that, and is described here instead, e.g. `body.amount: Expected a whole number from 1 to 10000000`.

/** The calendar times this API takes (src/admin/routes.ts reads them by the same rule). */
export const CALENDAR_TIME_FORM = 'YYYY-MM-DDThh:mm[:ss[.fraction]] and Z or an offset up to ±15:59, from 1970 to 9999 in UTC'

/**
 * What a field takes, in words, where its schema cannot say it (lengths in characters that the route
 * counts itself, beyond a bound in UTF-16 units): an OpenAPI extension keyword, so it is documented too.
 */
export const EXPECTED = 'x-expected'

interface Schema {
  type?: string
  format?: string
  const?: unknown
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  anyOf?: Schema[]
  items?: Schema
  properties?: Record<string, Schema>
  [EXPECTED]?: string
}

interface Failure {
  path?: string
  message?: string
  type?: number
  schema?: Schema
}

/** The failures described from the field's schema; others keep TypeBox's message. */
const DESCRIBED = new Set<number>([
  ValueErrorType.Union,
  ValueErrorType.Integer,
  ValueErrorType.IntegerMinimum,
  ValueErrorType.IntegerMaximum,
  ValueErrorType.Number,
  ValueErrorType.NumberMinimum,
  ValueErrorType.NumberMaximum,
  ValueErrorType.String,
  ValueErrorType.StringFormat,
  ValueErrorType.StringPattern,
  ValueErrorType.StringMinLength,
  ValueErrorType.StringMaxLength,
  ValueErrorType.Boolean,
  ValueErrorType.Null,
  ValueErrorType.Object,
  ValueErrorType.Array,
  ValueErrorType.ArrayMinItems,
  ValueErrorType.ArrayMaxItems,
])

/** "a", "a or b", "a, b or c" */
function listed(items: string[], last: 'and' | 'or'): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`
}

/** "1 to 50", "at least 1", "at most 50", or '' for no bounds. */
function bounds(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `${min} to ${max}`
  if (min !== undefined) return `at least ${min}`
  if (max !== undefined) return `at most ${max}`
  return ''
}

/** " from 1 to 50", " of at least 1", " of at most 50" */
function range(min: number | undefined, max: number | undefined): string {
  const b = bounds(min, max)
  return b === '' ? '' : min !== undefined && max !== undefined ? ` from ${b}` : ` of ${b}`
}

const names = (s: Schema) => Object.keys(s.properties ?? {})

/** What one schema takes, in words, or null for a schema these words do not cover. */
function takes(s: Schema): string | null {
  if (s[EXPECTED]) return s[EXPECTED]
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (s.anyOf) {
    const each = s.anyOf.map(takes)
    if (each.some((phrase) => phrase === null)) return null
    return listed([...new Set(each as string[])], 'or')
  }
  switch (s.type) {
    case 'null':
      return 'null'
    case 'boolean':
      return 'true or false'
    case 'integer':
      return `a whole number${range(s.minimum, s.maximum)}`
    case 'number':
      return `a number${range(s.minimum, s.maximum)}`
    case 'string':
      if (s.format === 'boolean') return 'true or false' // a query flag (Elysia's BooleanString)
      if (s.format === 'date-time') return `a calendar time (${CALENDAR_TIME_FORM})`
      if (s.format === 'uuid') return 'a UUID (8-4-4-4-12 hexadecimal digits)'
      if (s.format !== undefined) return null
      return s.minLength === undefined && s.maxLength === undefined ? 'a string' : `a string of ${bounds(s.minLength, s.maxLength)} characters`
    case 'object':
      return names(s).length ? `an object with ${listed(names(s), 'and')}` : 'an object'
    case 'array': {
      const item = s.items ? takes(s.items) : null
      const count = bounds(s.minItems, s.maxItems)
      return item ? `a list${count ? ` of ${count} items` : ''}, each ${item}` : null
    }
    default:
      return null
  }
}

/** The message for one failure, from the field's schema where it says more than TypeBox's. */
function messageOf(failure: Failure): string {
  const s = failure.schema
  if (s) {
    if (failure.type === ValueErrorType.ObjectAdditionalProperties) return `Unexpected property (this object takes ${names(s).length ? listed(names(s), 'and') : 'none'})`
    if (failure.type === ValueErrorType.ObjectRequiredProperty) {
      const phrase = takes(s)
      if (phrase) return `Required: ${phrase}`
    }
    if (failure.type === ValueErrorType.ObjectMinProperties) return `Expected at least one of ${listed(names(s), 'or')}`
    if (DESCRIBED.has(failure.type!)) {
      const phrase = takes(s)
      if (phrase) return `Expected ${phrase}`
    }
  }
  return failure.message ?? 'Not valid'
}

/** The detail of an Elysia validation error: `<where>.<field>: <what is taken there>`. */
export function validationDetail(error: unknown, production: boolean): string {
  const all = (error as { all?: Failure[] }).all
  const first = Array.isArray(all) ? all[0] : undefined
  const where = (error as { type?: string }).type ?? 'request'
  if (!first) return `The ${where} is not valid`
  let path = first.path ? first.path.replace(/^\//, '').replaceAll('/', '.') : ''
  // The path is made of the schema's names, but for a property the schema does not have it ends in the
  // client's own name for it: in production no input is echoed (PRODUCT.md), so that name is left out.
  if (production && first.type === ValueErrorType.ObjectAdditionalProperties) path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : ''
  const message = messageOf(first)
  return path ? `${where}.${path}: ${message}` : `${where}: ${message}`
}
