// The waiting room's state lives in a store: Redis (over TCP or the Upstash REST API, one Lua script per
// operation) or Postgres tables (the embedded default). All of them implement this contract and pass the
// same contract test suite (test/waiting-room/store-contract.ts). Times come from the store's own clock.

import type { SessionStatus } from './model'

/** Where a waiting room lives: Redis over the Upstash REST API, Redis over TCP, or Postgres tables. */
export type QueueStoreKind = 'redis-rest' | 'redis-tcp' | 'redis-cluster' | 'postgres'

export interface SessionView {
  status: SessionStatus
  /** 1 = next in line; null unless WAITING. Idle users who dropped out are not counted. */
  position: number | null
  /** Epoch ms; null unless ACTIVE. */
  activeUntilMs: number | null
  /**
   * Epoch ms; null unless ACTIVE (or not recorded). The end of the session's own time (admission + the
   * session TTL). A hold may keep the session ACTIVE past it, but only to pay what is held: no new hold.
   */
  ownUntilMs: number | null
  /** How fast places of this line come free; null when no admission step ran in the last minute. */
  pace: LinePace | null
}

/**
 * How fast places of a line come free, from the admission steps of the last minute: the wait estimate's
 * measure (queue-status.ts). The same for every place of the line at one moment.
 */
export interface LinePace {
  /** Sessions live after the latest admission step. */
  active: number
  /** Sessions that ended (paid, ran out, ended by an operator) per second over that minute. */
  endedPerSecond: number
  /** Sessions live after the steps of that minute, on average: with endedPerSecond, how long one lasts. */
  liveAverage: number
}

export interface JoinResult {
  seq: number
  created: boolean
  view: SessionView
}

export interface LineLimits {
  maxActive: number
  admitPerSecond: number
  activeTtlSeconds: number
  waitingIdleSeconds: number
  /**
   * The sale's opening (epoch ms), or null/absent when the line is open. Before it, joining puts people
   * in the pre-queue (WAITING, position null) and nobody is admitted; the first admission step after it
   * gives the pre-queue a uniformly random order ahead of later arrivals.
   */
  opensAtMs?: number | null
  /** The operator paused the line: nobody is admitted until it resumes (the stores are told a rate of 0). */
  paused?: boolean
}

export interface AdmitResult {
  admitted: number
  /** Waiting users dropped for not polling, and active sessions that ran out, in this step. */
  expired: number
  waiting: number
  active: number
}

export interface LineStats {
  /** Live waiting places (idle ones not counted). */
  waiting: number
  /** Live active sessions. */
  active: number
  admittedLastMinute: number
  /** When the user at the front of the line joined (epoch ms), or null if nobody waits. */
  oldestJoinedMs: number | null
  soldOut: boolean
}

export interface Ticket {
  concertId: string
  userId: string
  seq: number
}

export interface WaitingRoomStore {
  readonly kind: QueueStoreKind
  /** Joins the line, or returns the user's live place (and counts as a heartbeat). SOLD_OUT lines refuse. */
  join(concertId: string, userId: string, limits: LineLimits): Promise<JoinResult | 'SOLD_OUT'>
  /** Status of a ticket; for WAITING it is also the heartbeat that keeps the place. */
  poll(ticket: Ticket, limits: LineLimits): Promise<SessionView>
  /**
   * The statuses of several places of one line in one round trip, in the order given; each live
   * WAITING place also gets its heartbeat (pushed status: watching counts as polling).
   */
  pollMany(concertId: string, tickets: Ticket[], limits: LineLimits): Promise<SessionView[]>
  /** Status without side effects (the guard of payments). */
  check(ticket: Ticket, limits: LineLimits): Promise<SessionView>
  /** If ACTIVE, extends the session to at least untilMs (a hold must be payable) and returns the view. */
  extend(ticket: Ticket, untilMs: number, limits: LineLimits): Promise<SessionView>
  /**
   * A hold was cancelled: the session lasts no longer than its own time or untilMs (what the user's
   * remaining live holds need; 0 if none), whichever is later. Never lengthens it.
   */
  shrink(ticket: Ticket, untilMs: number, limits: LineLimits): Promise<void>
  /** Ends an ACTIVE session as DONE (the user paid); the slot goes to the next person at the next tick. */
  finish(ticket: Ticket): Promise<void>
  /**
   * One admission step for one line: drops idle waiters and lapsed sessions, then admits from the front,
   * never above maxActive active sessions nor admitPerSecond per second of the store's clock, however many
   * callers run it at once.
   */
  admit(concertId: string, limits: LineLimits): Promise<AdmitResult>
  /**
   * The line's opening was cleared before its draw: its pre-queue becomes ordinary places in join order,
   * ahead of later joiners, each told its position. A drawn line is left as it is.
   */
  settlePreQueue(concertId: string): Promise<void>
  /** Marks the line sold out (waiting users learn it on their next poll) or open again. */
  setSoldOut(concertId: string, soldOut: boolean): Promise<void>
  /** The operator's read-out of one line. */
  stats(concertId: string, limits: LineLimits): Promise<LineStats>
  /** An operator ends a user's live place; returns its seq, or null if there was none. The slot frees at once. */
  endSession(concertId: string, userId: string): Promise<number | null>
  /** Concerts that have a line (anyone waiting or active). */
  lines(): Promise<string[]>
  ping(): Promise<void>
  close(): Promise<void>
}
