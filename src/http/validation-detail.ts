import { ValueErrorType } from '@sinclair/typebox/errors'

// The detail of a 400 for a request its schema refused: where, and what was expected there. TypeBox's
// messages say it well for one type ("Expected integer"), but for a field that takes one of several
// ("Expected union value": a nullable limit, an opening time or null, `?available=`) they named nothing a
// client could act on (helper-59). Such a field is described from its schema instead.

/** The calendar times this API takes (src/admin/routes.ts reads them by the same rule). */
export const CALENDAR_TIME_FORM = 'YYYY-MM-DDThh:mm[:ss[.fraction]]Z or an offset, year 1970-9999'

interface Schema {
  type?: string
  format?: string
  const?: unknown
  minimum?: number
  maximum?: number
  anyOf?: Schema[]
}

interface Failure {
  path?: string
  message?: string
  type?: number
  schema?: Schema
}

function range(s: Schema): string {
  if (s.minimum !== undefined && s.maximum !== undefined) return ` from ${s.minimum} to ${s.maximum}`
  if (s.minimum !== undefined) return ` of at least ${s.minimum}`
  if (s.maximum !== undefined) return ` of at most ${s.maximum}`
  return ''
}

/** What one schema takes, in words, or null for a schema these words do not cover. */
function takes(s: Schema): string | null {
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (s.anyOf) {
    const each = s.anyOf.map(takes)
    if (each.some((phrase) => phrase === null)) return null
    const distinct = [...new Set(each)] as string[]
    return distinct.length === 1 ? distinct[0]! : `${distinct.slice(0, -1).join(', ')} or ${distinct.at(-1)}`
  }
  switch (s.type) {
    case 'null':
      return 'null'
    case 'boolean':
      return 'true or false'
    case 'integer':
      return `a whole number${range(s)}`
    case 'number':
      return `a number${range(s)}`
    case 'string':
      if (s.format === 'boolean') return 'true or false' // a query flag (Elysia's BooleanString)
      if (s.format === 'date-time') return `a calendar time (${CALENDAR_TIME_FORM})`
      if (s.format === 'uuid') return 'a UUID'
      return s.format === undefined ? 'a string' : null
    default:
      return null
  }
}

/**
 * The message for one failure: TypeBox's own, but for a union's, which says nothing of its members, and
 * a format's, which names the format by its JSON Schema name ("Expected string to match 'date-time'").
 */
function messageOf(failure: Failure): string {
  if ((failure.type === ValueErrorType.Union || failure.type === ValueErrorType.StringFormat) && failure.schema) {
    const phrase = takes(failure.schema)
    if (phrase) return `Expected ${phrase}`
  }
  return failure.message ?? 'Not valid'
}

/** The detail of an Elysia validation error: `<where>.<field>: <what was expected>`. */
export function validationDetail(error: unknown, production: boolean): string {
  const all = (error as { all?: Failure[] }).all
  const first = Array.isArray(all) ? all[0] : undefined
  const where = (error as { type?: string }).type ?? 'request'
  if (!first) return `The ${where} is not valid`
  let path = first.path ? first.path.replace(/^\//, '').replaceAll('/', '.') : ''
  // The path is made of the schema's names, but for a property the schema does not have it ends in the
  // client's own name for it: in production no input is echoed (PRODUCT.md), so that name is left out.
  if (production && first.message === 'Unexpected property') path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : ''
  const message = messageOf(first)
  return path ? `${where}.${path}: ${message}` : `${where}: ${message}`
}
