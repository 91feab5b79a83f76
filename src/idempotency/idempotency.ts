import { createHash } from 'node:crypto'
import type { Db, Sql } from '../db/client'
import { advisoryLocks } from '../db/locks'
import { statements, theRow } from '../db/statements'
import { ServiceError } from '../errors'
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

export function checkKey(key: string | null): string | undefined {
  if (key === null) return undefined
  if (key.length < 1 || key.length > 255 || /[\x00-\x1f\x7f]/.test(key)) {
    throw new ServiceError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 characters with no control characters')
  }
  return key
}

/**
 * Runs `effect` at most once per (user, key).
 * - `precondition` runs after a first replay check and outside any transaction; what it throws is not
 *   remembered (a 403 from the queue guard must not be replayed once the user is admitted).
 * - `effect` must leave nothing behind when it throws. A Problem it throws that the operation itself
 *   decided (402, 409, 422) is the response, remembered and replayed like a success; anything else (a
 *   404 for a reservation that is not there, a 403 for another concert's token, a 5xx) rolls everything
 *   back and is not stored, so the same key works for the corrected request.
 * The stored response commits in the same transaction as the effect, so a crash at any point leaves
 * either both or neither. Only `effect` runs inside that transaction: with a one-connection pool
 * (embedded mode) nothing else may wait for a connection while it is open.
 */
export async function idempotently(
  sql: Sql,
  request: IdempotentRequest,
  precondition: () => Promise<void>,
  effect: (db: Db) => Promise<{ status: number; body: unknown }>,
): Promise<Outcome> {
  if (request.key === undefined) {
    await precondition()
    return { ...(await effect(sql)), replayed: false }
  }
  const { userId, key } = request
  const replay = (prior: StoredKey | undefined): Outcome | null => {
    if (!prior) return null
    if (prior.fingerprint !== request.fingerprint) {
      throw new ServiceError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request')
    }
    return { status: prior.response_status, body: prior.response_body, replayed: true }
  }

  const [earlier] = await q.find_key<StoredKey>(sql, [userId, key])
  const replayed = replay(earlier)
  if (replayed) return replayed
  try {
    await precondition()
  } catch (error) {
    // A request with this key may have finished meanwhile and changed what the precondition sees (a
    // payment ends the queue session): its answer is the answer.
    const [meanwhile] = await q.find_key<StoredKey>(sql, [userId, key])
    const answered = replay(meanwhile)
    if (answered) return answered
    throw error
  }
  const outcome = await sql.begin(async (tx) => {
    const [lock] = await q.try_lock_key<{ locked: boolean }>(tx, [userId, key, advisoryLocks.idempotencyKeys])
    if (!lock!.locked) {
      throw new ServiceError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running', { retryAfterSeconds: 1 })
    }
    // Again, now under the lock: a request with the same key may have committed since the first look.
    const [prior] = await q.find_key<StoredKey>(tx, [userId, key])
    const replayedNow = replay(prior)
    if (replayedNow) return replayedNow
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
