// How the Redis store reaches Redis: a transport runs one script and reports failures in two kinds.
// The queue logic lives once, in Lua; transports only carry EVALSHA/EVAL over TCP or HTTP.

import { within } from '../../deadline'
import type { QueueStoreKind } from '../store'

export interface RedisTransport {
  readonly kind: Exclude<QueueStoreKind, 'postgres'>
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>
  eval(script: string, keys: string[], args: string[]): Promise<unknown>
  /** The members of all these sets together (SMEMBERS each; on a cluster, each on the node of its slot). */
  members(keys: string[]): Promise<string[]>
  ping(): Promise<void>
  close(): Promise<void>
}

/** Redis answered, with an error reply (NOSCRIPT, a failing script, OOM, ...). */
export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError'
}

/** Redis could not be reached, or did not answer in time. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError'
}

export const isNoScript = (error: unknown) => error instanceof RedisReplyError && error.message.includes('NOSCRIPT')

/** Rejects with RedisUnavailableError when `work` has not settled within `ms`; `onTimeout` may drop a hung connection. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  return within(work, ms, () => {
    onTimeout?.()
    return new RedisUnavailableError(`${what}: no answer within ${ms} ms`)
  })
}
