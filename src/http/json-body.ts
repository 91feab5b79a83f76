import { ServiceError } from '../errors'

// Fatal: Bun's request.json() reads bytes that are not UTF-8 as U+FFFD, so two different bodies could
// read as one (the same user id or title from different bytes). JSON is UTF-8 (RFC 8259 8.1). One byte
// order mark before the text is dropped, as that section allows a parser to (some Windows tools write it).
const utf8 = new TextDecoder('utf-8', { fatal: true })

// A body that is not JSON is refused only after the caller's credentials and request budget, as a body
// that is JSON but not valid is: Elysia parses a body before the auth macro's transform runs, so a parser
// that threw answered 400 to strangers and let a user send malformed bodies without spending the budget or
// seeing the RateLimit headers (helper-48: 100 at once, none refused). The parser leaves an empty body and
// remembers why; the edge answers the refusal at validation, or before the handler when an empty object
// satisfies the route's schema (src/http/edge.ts).
const unreadable = new WeakMap<Request, ServiceError>()

/** The empty stand-in for a body that is refused, remembering why (bodyRefusal). */
function refused(request: Request, detail: string): object {
  unreadable.set(request, new ServiceError('VALIDATION_FAILED', detail))
  return {}
}

/** Why the body of this request could not be read as JSON, if it could not. */
export function bodyRefusal(request: Request): ServiceError | undefined {
  return unreadable.get(request)
}

// No body of this API nests deeper than 3 (a concert's schedules), and its schemas refuse anything
// deeper anyway: this only refuses it before Elysia's validation error writes the body out, indented by
// depth outside production, in time quadratic in the depth (8,100 nested arrays, 16 KB, held an
// instance's event loop for 3.3-3.9 s: helper-57, 7 of 7). At this depth the worst 16 KB body is written
// in about 2 ms.
const MAX_DEPTH = 8

const QUOTE = 0x22
const BACKSLASH = 0x5c

// A number's text: integer digits, fraction digits, exponent (JSON's grammar, which the text has passed).
const NUMBER = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

/**
 * Whether a number's text is a whole number only once read: every number this API takes is an integer,
 * and `100000.0000000000001` reads as the double 100000, so the schema took a fractional amount as a whole
 * one (helper-57). A fraction the reading keeps is the schema's to refuse; `100.0` and `1e2` are whole.
 */
function fractionLost(token: string): boolean {
  if (!Number.isInteger(Number(token))) return false
  const [, whole = '', fraction = '', exponent = '0'] = NUMBER.exec(token)!
  // The digits past the decimal point once the exponent has moved it.
  return /[1-9]/.test((whole + fraction).slice(Math.max(0, whole.length + Number(exponent))))
}

/**
 * Why a valid JSON text is still refused, or null: it nests deeper than MAX_DEPTH, an object names a
 * member twice, or a number is whole only once read (fractionLost). JSON leaves duplicate names to the
 * parser (RFC 8259 4): JSON.parse keeps the last, another reader in front of us (a proxy, a WAF, a log)
 * may keep the first, and `{"amount":1,"amount":2}` would then be charged as one thing and seen as
 * another. One pass over the text, which has parsed already.
 */
export function shapeRefusal(text: string): string | null {
  // One entry per open container: the member names met so far in an object, null for an array.
  const open: (Set<string> | null)[] = []
  let nameNext = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const start = i
      for (i++; text.charCodeAt(i) !== QUOTE; i++) if (text.charCodeAt(i) === BACKSLASH) i++
      if (!nameNext) continue
      nameNext = false
      const raw = text.slice(start, i + 1)
      // Compared as the names they spell: "a" and "\u0061" are one name.
      const name: string = raw.includes('\\') ? JSON.parse(raw) : raw.slice(1, -1)
      const names = open[open.length - 1]!
      if (names.has(name)) return 'The body names a member twice in one object'
      names.add(name)
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (open.push(c === 0x7b ? new Set() : null) > MAX_DEPTH) return `The body nests more than ${MAX_DEPTH} levels deep`
      nameNext = c === 0x7b
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop() // what follows a close is a comma, another close or the end: no name
    } else if (c === 0x2c /* , */) {
      nameNext = open[open.length - 1] != null
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39) /* 0-9 */) {
      // Outside strings only numbers have digits or a minus.
      const start = i
      let plain = true
      for (; i + 1 < text.length; i++) {
        const d = text.charCodeAt(i + 1)
        if (d === 0x2e /* . */ || d === 0x65 /* e */ || d === 0x45 /* E */) plain = false
        else if (!(d === 0x2b /* + */ || d === 0x2d || (d >= 0x30 && d <= 0x39))) break
      }
      if (!plain && fractionLost(text.slice(start, i + 1))) return 'A number in the body is not a whole number (its fraction is finer than a JSON number keeps)'
    }
  }
  return null
}

/**
 * The body parser of every route that takes JSON: strict UTF-8, then JSON, then its shape (shapeRefusal);
 * anything else is a 400 (see bodyRefusal). It costs ~1.3 us more a body than request.json() (3.6 against
 * 2.3 us, a join's body, in-process); the shape's pass adds 0.14-0.25 us to a join's or a hold's body.
 */
export async function jsonBody({ request }: { request: Request }): Promise<unknown> {
  let text: string
  try {
    text = utf8.decode(await request.bytes())
  } catch {
    return refused(request, 'The body is not valid UTF-8')
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return refused(request, 'The body is not valid JSON')
  }
  const refusal = shapeRefusal(text)
  return refusal === null ? body : refused(request, refusal)
}
