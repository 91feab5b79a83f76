import { createHash } from 'node:crypto'
import type { Db, Sql } from '../db/client'
import { advisoryLocks } from '../db/locks'
import { statements, theRow } from '../db/statements'
import { ServiceError, type ErrorCode } from '../errors'
import { problemBody, RememberedProblem, statusOfError, type ProblemBody } from '../http/problems'

const q = statements('idempotency', ['try_lock_key', 'find_key', 'save_key', 'expire_keys'])

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

// The answers an operation decides and a retry must see again: a success, a decline for money (402), a
// conflict with the state of things (409), a limit (422). Authentication, the queue guard, validation,
// rate limits, "not found" and failures are about the request or the moment, not the operation.
function decidedByTheOperation(status: number): boolean {
  return (status >= 200 && status < 300) || status === 402 || status === 409 || status === 422
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

/**
 * Runs the precondition of a request, outside any transaction. What it throws is not remembered (a 403
 * from the queue guard must not be replayed once the user is admitted), but a request with this key may
 * have finished meanwhile and changed what the precondition sees (a payment ends the queue session): its
 * stored answer is then the answer. Null when the precondition passed: the operation runs next, and it
 * looks for a stored answer itself, under the key's lock, so the key is not read twice on the way.
 */
export async function preconditionOrReplay(sql: Sql, request: IdempotentRequest, precondition: () => Promise<void>): Promise<Outcome | null> {
  try {
    await precondition()
    return null
  } catch (error) {
    if (request.key === undefined) throw error
    const [stored] = await q.find_key<StoredKey>(sql, [request.userId, request.key])
    const answered = replay(request, stored)
    if (answered) return answered
    throw error
  }
}

/**
 * Runs `effect` at most once per (user, key).
 * - `precondition` runs first, outside any transaction (preconditionOrReplay).
 * - `effect` must leave nothing behind when it throws. A Problem it throws that the operation itself
 *   decided (402, 409, 422) is the response, remembered and replayed like a success; anything else (a
 *   404 for a reservation that is not there, a 403 for another concert's token, a 5xx) rolls everything
 *   back and is not stored, so the same key works for the corrected request.
 * The stored response commits in the same transaction as the effect, so a crash at any point leaves
 * either both or neither. Only `effect` runs inside that transaction: with a one-connection pool
 * (embedded mode) nothing else may wait for a connection while it is open.
 * An operation that is one plpgsql call does all of this in that call instead (sql/functions/pay_once.sql)
 * and answers through outcomeOfOneCall.
 */
export async function idempotently(
  sql: Sql,
  request: IdempotentRequest,
  precondition: () => Promise<void>,
  effect: (db: Db) => Promise<{ status: number; body: unknown }>,
): Promise<Outcome> {
  const answered = await preconditionOrReplay(sql, request, precondition)
  if (answered) return answered
  if (request.key === undefined) return { ...(await effect(sql)), replayed: false }
  const { userId, key } = request
  const outcome = await sql.begin(async (tx) => {
    const [lock] = await q.try_lock_key<{ locked: boolean }>(tx, [userId, key, advisoryLocks.idempotencyKeys])
    // Read in its own statement after the lock: it sees what a previous holder of the lock committed. A
    // stored answer is the answer even while another request holds the lock (it can only be replaying it).
    const [prior] = await q.find_key<StoredKey>(tx, [userId, key])
    const replayedNow = replay(request, prior)
    if (replayedNow) return replayedNow
    if (!lock!.locked) throw inProgress()
    let response: { status: number; body: unknown }
    try {
      response = await effect(tx)
    } catch (error) {
      if (!(error instanceof ServiceError) || !decidedByTheOperation(statusOfError(error))) throw error
      response = { status: statusOfError(error), body: problemBody(error.code, error.message) }
    }
    await q.save_key(tx, [userId, key, request.fingerprint, response.status, response.body])
    return { ...response, replayed: false }
  })
  return outcome as Outcome
}

/** What an operation done as one plpgsql call answers (the columns of sql/functions/pay_once.sql). */
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
 * The outcome of a one-call operation, by the rules of `idempotently`: a stored answer replays (or refuses
 * another request under the same key), a problem that was not stored is thrown as any problem is.
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
