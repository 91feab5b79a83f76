import { timingSafeEqual } from 'node:crypto'
import { hmacSha256 } from '../hmac'
import { ServiceError } from '../errors'
import { boundedMemo } from '../memo'
import type { Ticket } from './store'

// The queue token names one place in one line: which concert, which user, which join (seq).
// It carries no status: whether the place is WAITING or ACTIVE is read from the store, so a user who
// has paid or lapsed cannot keep booking on an old token. It is an HMAC-SHA256 over its payload.
export interface QueueTokens {
  sign(ticket: Ticket): string
  /** Verifies the signature and that the token belongs to userId. */
  verify(token: string | null | undefined, userId: string): Ticket
  /**
   * Verifies the signature only: the token is then its own credential (pushed status, where a browser's
   * EventSource cannot send the user's Authorization header). It reveals a place, never books anything.
   */
  open(token: string | null | undefined): Ticket
}

export function deriveQueueTokenSecret(authJwtSecret: string): string {
  return hmacSha256(authJwtSecret)('queue-token-v1').toString('base64url')
}

// Tokens already verified, so that a user polling every second does not pay for the HMAC, two base64
// decodings and a JSON parse each time (about 4 µs of a poll). A token never changes meaning, so an entry
// stays valid; the memo is bounded (src/memo.ts), as the user tokens' is (src/identity/user-tokens.ts).
const OPENED_LIMIT = 10_000

export function queueTokens(secret: string): QueueTokens {
  const mac = hmacSha256(secret)
  const invalid = () => new ServiceError('QUEUE_TOKEN_INVALID', 'Send the queue token returned by POST /v1/queue/tokens (the X-Queue-Token header; the token query parameter of /v1/queue/events)')
  const opened = boundedMemo<Ticket>(OPENED_LIMIT)

  function open(token: string | null | undefined): Ticket {
    if (!token || token.length > 1024) throw invalid()
    const known = opened.get(token)
    if (known) return known
    const ticket = verifySignature(token)
    opened.set(token, ticket)
    return ticket
  }

  function verifySignature(token: string): Ticket {
    const dot = token.indexOf('.')
    if (dot <= 0 || dot !== token.lastIndexOf('.')) throw invalid()
    const payload = token.slice(0, dot)
    const given = Buffer.from(token.slice(dot + 1), 'base64url')
    const expected = mac(payload)
    // base64url decoding is lenient; re-encoding must give back exactly what was sent.
    if (given.length !== expected.length || given.toString('base64url') !== token.slice(dot + 1)) throw invalid()
    if (!timingSafeEqual(given, expected)) throw invalid()
    let body: { c?: unknown; u?: unknown; s?: unknown }
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      throw invalid()
    }
    if (typeof body.c !== 'string' || typeof body.u !== 'string' || !Number.isSafeInteger(body.s)) throw invalid()
    return Object.freeze({ concertId: body.c, userId: body.u, seq: body.s as number })
  }

  return {
    sign({ concertId, userId, seq }) {
      const payload = Buffer.from(JSON.stringify({ c: concertId, u: userId, s: seq })).toString('base64url')
      return `${payload}.${mac(payload).toString('base64url')}`
    },

    verify(token, userId) {
      const ticket = open(token)
      if (ticket.userId !== userId) throw new ServiceError('QUEUE_TOKEN_INVALID', 'The queue token belongs to another user')
      return ticket
    },

    open,
  }
}
