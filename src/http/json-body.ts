import { ServiceError } from '../errors'

// Fatal: Bun's request.json() reads bytes that are not UTF-8 as U+FFFD, so two different bodies could
// read as one (the same user id or title from different bytes). JSON is UTF-8 (RFC 8259 8.1). One byte
// order mark before the text is dropped, as that section allows a parser to (some Windows tools write it).
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * The body parser of every route that takes JSON: strict UTF-8, then JSON; anything else is a 400. It
 * costs ~1.3 us more a body than request.json() (3.6 against 2.3 us, a join's body, in-process).
 */
export async function jsonBody({ request }: { request: Request }): Promise<unknown> {
  let text: string
  try {
    text = utf8.decode(await request.bytes())
  } catch {
    throw new ServiceError('VALIDATION_FAILED', 'The body is not valid UTF-8')
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new ServiceError('VALIDATION_FAILED', 'The body is not valid JSON')
  }
}
