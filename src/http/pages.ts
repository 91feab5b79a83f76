import { t } from 'elysia'
import { ServiceError } from '../errors'

// Keyset pages for every unbounded list: `limit` + an opaque `cursor` (the id of the last item seen),
// and the next page named in `Link: <...>; rel="next"` (RFC 8288). Bodies keep their shapes.
export const MAX_PAGE = 100

export const PageQuery = (defaultLimit: number) => ({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: MAX_PAGE, description: `Page size (default ${defaultLimit})` })),
  cursor: t.Optional(t.String({ minLength: 1, maxLength: 64, description: 'From the Link rel="next" of the previous page' })),
})

export const encodeCursor = (id: string) => Buffer.from(`i${id}`).toString('base64url')

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null
  const id = /^i([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))?.[1]
  // Only the spelling this API writes: the decoder skips what is not base64url (a space, a NUL, '+',
  // '=' padding), so a cursor so changed named the same item (a hostile probe, 5 spellings of 5).
  if (id === undefined || encodeCursor(id) !== cursor) throw new ServiceError('VALIDATION_FAILED', 'query.cursor: Expected a cursor this API returned for the next page')
  return id
}

/** The Link header naming the page after this one: same path and query, the new cursor. */
export function nextLink(request: Request, cursor: string): string {
  const url = new URL(request.url)
  url.searchParams.set('cursor', cursor)
  return `<${url.pathname}${url.search}>; rel="next"`
}

/** Rows fetched with limit + 1: the page, and the cursor of the next one if there is more. */
export function pageOf<T>(rows: T[], limit: number, idOf: (row: T) => string): { items: T[]; next: string | null } {
  if (rows.length <= limit) return { items: rows, next: null }
  const items = rows.slice(0, limit)
  return { items, next: encodeCursor(idOf(items[items.length - 1]!)) }
}
