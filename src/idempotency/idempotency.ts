import { createHash } from 'node:crypto'
import type { Sql } from '../db/client'
import { ReadGivenUp, reads, statements, theRow } from '../db/statements'
import { ServiceError, type ErrorCode } from '../errors'
import { problemBody, RememberedProblem, type ProblemBody } from '../http/problems'

// Idempotency-Key: the same key from the same user with the same request answers what the first one was
// answered and has no second effect. An operation with a key runs as one plpgsql call (pay_once,
// charge_once in sql/functions/) that takes the key's lock, reads a stored answer (idempotency_claim),
// makes the effect and stores its answer in one transaction, so a crash leaves both or neither, in one
// round trip. Stored are the answers the operation decides and a retry must see again: a success, a
// decline for money (402), a conflict with the state of things (409), a limit (422). Authentication,
// the queue guard, validation, rate limits, "not found" and failures are about the request or the moment,
// not the operation: never stored, so the same key works for the corrected request.

const q = statements('idempotency', ['expire_keys'])
const read = reads('idempotency', ['find_key'])

export interface Outcome {
  status: number
  body: unknown
  replayed: boolean
}

export interface IdempotentRequest {
  userId: string
  key: string | undefined
  /** What the request asked for; the same key with another fingerprint is refused. */
  fingerprint: string
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

export function fingerprint(operation: string, body: unknown): string {
  return createHash('sha256').update(operation).update('\n').update(canonical(body)).digest('base64url')
}

// A header value arrives as its bytes, one character each (Bun reads it as Latin-1). A key sent as UTF-8
// is judged by what it says: its length in characters (code points), and no control character, C1
// included. Bytes that are not UTF-8 are judged as they are. The key itself is kept as it came.
const utf8 = new TextDecoder('utf-8', { fatal: true })

function asText(key: string): string {
  if (!/[\x80-\xff]/.test(key)) return key
  try {
    return utf8.decode(Buffer.from(key, 'latin1'))
  } catch {
    return key
  }
}

export function checkKey(key: string | null): string | undefined {
  if (key === null) return undefined
  const text = asText(key)
  let characters = 0
  for (const _ of text) characters++
  if (characters < 1 || characters > 255 || /[\x00-\x1f\x7f]/.test(key) || (text !== key && /\p{Cc}/u.test(text))) {
    throw new ServiceError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 characters with no control characters')
  }
  return key
}

function replay(request: IdempotentRequest, prior: StoredKey | undefined): Outcome | null {
  if (!prior) return null
  if (prior.fingerprint !== request.fingerprint) {
    throw new ServiceError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request')
  }
  return { status: prior.response_status, body: prior.response_body, replayed: true }
}

function inProgress(): ServiceError {
  return new ServiceError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running', { retryAfterSeconds: 1 })
}

/** A refusal of a precondition that no stored answer overrides: it is about the request, not the moment. */
export class PreconditionFailed extends Error {
  constructor(readonly refusal: ServiceError) {
    super(refusal.message)
  }
}

/**
 * Runs the precondition of a request, outside any transaction. What it throws is not remembered (a 403
 * from the queue guard must not be replayed once the user is admitted), but a request with this key may
 * have finished meanwhile and changed what the precondition sees (a payment ends the queue session): its
 * stored answer is then the answer - unless the precondition threw PreconditionFailed, a refusal that
 * holds whatever was stored. Null when the precondition passed: the operation runs next, and it looks
 * for a stored answer itself, under the key's lock, so the key is not read twice on the way.
 */
export async function preconditionOrReplay(sql: Sql, request: IdempotentRequest, precondition: () => Promise<void>): Promise<Outcome | null> {
  try {
    await precondition()
    return null
  } catch (error) {
    if (error instanceof PreconditionFailed) throw error.refusal
    // The stored answer is read from the database that has just not answered: asking it would only make
    // the client wait the bound twice (helper-55: a payment's retry answered 503 after 10 s, not 5).
    if (request.key === undefined || error instanceof ReadGivenUp) throw error
    const [stored] = await read.find_key<StoredKey>(sql, [request.userId, request.key])
    const answered = replay(request, stored)
    if (answered) return answered
    throw error
  }
}

/** What an operation done as one plpgsql call answers (the columns of pay_once and charge_once). */
export interface OneCallAnswer {
  status: number
  /** A problem's code; null for a success and for a replay. */
  code: ErrorCode | null
  detail: string | null
  /** The answer as stored under the key: a success's always, a problem's only when it was stored. */
  body: unknown
  replayed: boolean
  /** Of a replayed answer: what its request asked for. */
  fingerprint: string | null
}

/**
 * The outcome of a one-call operation: a stored answer replays (or refuses another request under the
 * same key), a problem that was not stored is thrown as any problem is.
 */
export function outcomeOfOneCall(request: IdempotentRequest, row: OneCallAnswer): Outcome {
  if (row.replayed) {
    return replay(request, { fingerprint: row.fingerprint!, response_status: row.status, response_body: row.body })!
  }
  if (row.code === 'IDEMPOTENCY_IN_PROGRESS') throw inProgress()
  if (row.body === null) throw new ServiceError(row.code!, row.detail!)
  return { status: row.status, body: row.body, replayed: false }
}

/** The fixed part of the problem body of each code (all but the detail), for a one-call operation to store. */
export function problemTemplates(codes: readonly ErrorCode[]): Record<string, Pick<ProblemBody, 'type' | 'title' | 'status'>> {
  return Object.fromEntries(
    codes.map((code) => {
      const { type, title, status } = problemBody(code, '')
      return [code, { type, title, status }]
    }),
  )
}

interface StoredKey {
  fingerprint: string
  response_status: number
  response_body: unknown
}

export async function expireKeys(sql: Sql, batchSize = 10_000): Promise<number> {
  const row = theRow(await q.expire_keys<{ expired: number }>(sql, [batchSize]), 'expire_keys')
  return row.expired
}

/**
 * The HTTP answer for an outcome. A remembered problem is thrown, so that it leaves through the edge like
 * every other problem (counted, logged), with its stored body byte for byte.
 */
export function respond(outcome: Outcome, set: { status?: number | string; headers: Record<string, string | number> }) {
  if (outcome.status >= 400) throw new RememberedProblem(outcome.status, outcome.body as ProblemBody, outcome.replayed)
  if (outcome.replayed) set.headers['idempotent-replayed'] = 'true'
  set.status = outcome.status
  return outcome.body
}
