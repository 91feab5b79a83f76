import type { Log } from '../log'
import type { LineLimits, SessionView, Ticket, WaitingRoomStore } from './store'
import type { QueueStatus } from './model'

// Pushed status (Server-Sent Events). The cost is bounded by lines, not by people: once per tick this
// instance asks the store about every watched place of a line in one call per PLACES_PER_READ places
// (one call for most lines), then fans the answers out to the open streams. Several tabs of one person
// share one read. A stream hears only changes, a heartbeat comment when it was quiet for HEARTBEAT_MS,
// and ends after a terminal status. Nothing here is a source of truth: a stream that reconnects (to this
// instance or another) is answered from the store at once and carries on from there.

/** Places asked about in one store call: bounds how long one Redis script or SQL statement runs. */
const PLACES_PER_READ = 2000
const HEARTBEAT_MS = 15_000
/** A client that lets this much pile up unread is dropped; EventSource reconnects and catches up. */
const MAX_UNREAD_BYTES = 64 * 1024
/** Streams of one place (tabs of one person); opening one more ends the oldest, so nobody holds many. */
const STREAMS_PER_PLACE = 4
/** What a browser waits before reconnecting after the stream broke. */
const RETRY_MS = 2000

const TERMINAL = new Set(['DONE', 'EXPIRED', 'SOLD_OUT'])
/**
 * The id of a terminal status's event. EventSource reconnects when a stream ends, whatever it said last,
 * and sends the last id it had (Last-Event-ID): a stream asked for after this one is answered 204, which
 * tells EventSource to stop (helper-60: one that heard DONE reconnected every 2 s, each time spending a
 * request of the user's budget and a store read). A client that missed the end sends another id and is
 * told the end again.
 */
export const ENDED_EVENT_ID = 'end'

export interface StatusPushOptions {
  /** Where the views of watched places are read: the store's, as people are told them (waiting-room.ts). */
  views: Pick<WaitingRoomStore, 'pollMany'>
  limitsOf(concertId: string): LineLimits
  describe(concertId: string, view: SessionView, limits: LineLimits): QueueStatus
  tickMs: number
  /** Open streams per instance at most; beyond it a stream is refused (the client falls back to polling). */
  maxStreams?: number
  log?: Log
}

interface Stream {
  ticket: Ticket
  /** The last status sent, without pollAfterMs (which moves every tick while ACTIVE and is no change). */
  lastKey: string
  lastWriteMs: number
  eventId: number
  controller: ReadableStreamDefaultController<Uint8Array>
  closed: boolean
}

const encoder = new TextEncoder()

export function statusPush({ views, limitsOf, describe, tickMs, maxStreams = 50_000, log = () => {} }: StatusPushOptions) {
  // line -> place (seq) -> its open streams
  const lines = new Map<string, Map<number, Set<Stream>>>()
  let open = 0
  let timer: ReturnType<typeof setInterval> | null = null
  let ticking = false
  let lastFailureLogged = 0

  function write(stream: Stream, chunk: string) {
    if (stream.closed) return
    // desiredSize falls below zero by what is queued and unread.
    if ((stream.controller.desiredSize ?? 0) < -MAX_UNREAD_BYTES) return end(stream)
    try {
      stream.controller.enqueue(encoder.encode(chunk))
      stream.lastWriteMs = Date.now()
    } catch {
      forget(stream)
    }
  }

  function forget(stream: Stream) {
    if (stream.closed) return
    stream.closed = true
    open--
    const line = lines.get(stream.ticket.concertId)
    const place = line?.get(stream.ticket.seq)
    place?.delete(stream)
    if (line && place && place.size === 0) line.delete(stream.ticket.seq)
    if (line && line.size === 0) lines.delete(stream.ticket.concertId)
    if (open === 0 && timer) {
      clearInterval(timer)
      timer = null
    }
  }

  function end(stream: Stream) {
    if (stream.closed) return
    forget(stream)
    try {
      stream.controller.close()
    } catch {}
  }

  function deliver(stream: Stream, body: QueueStatus) {
    const { pollAfterMs: _, ...rest } = body
    const key = JSON.stringify(rest)
    if (key !== stream.lastKey) {
      stream.lastKey = key
      stream.eventId++
      const id = TERMINAL.has(body.status) ? ENDED_EVENT_ID : stream.eventId
      write(stream, `id: ${id}\nevent: status\ndata: ${JSON.stringify(body)}\n\n`)
    } else if (Date.now() - stream.lastWriteMs >= HEARTBEAT_MS) {
      write(stream, ': heartbeat\n\n')
    }
    if (TERMINAL.has(body.status)) end(stream)
  }

  async function tickLine(concertId: string, places: Map<number, Set<Stream>>) {
    const tickets: Ticket[] = []
    for (const streams of places.values()) for (const s of streams) {
      tickets.push(s.ticket)
      break
    }
    const limits = limitsOf(concertId)
    const bodies = new Map<number, QueueStatus>()
    for (let i = 0; i < tickets.length; i += PLACES_PER_READ) {
      const batch = tickets.slice(i, i + PLACES_PER_READ)
      const read = await views.pollMany(concertId, batch, limits)
      batch.forEach((t, j) => bodies.set(t.seq, describe(concertId, read[j]!, limits)))
    }
    for (const [seq, streams] of [...places]) {
      const body = bodies.get(seq)
      if (body) for (const s of [...streams]) deliver(s, body)
    }
  }

  async function tick() {
    if (ticking) return // the previous tick is still reading; skip rather than pile up
    ticking = true
    try {
      await Promise.all(
        [...lines].map(([concertId, places]) =>
          tickLine(concertId, places).catch((error) => {
            // The store is down or slow: streams stay open and hear the next change once it answers.
            if (Date.now() - lastFailureLogged > 10_000) {
              lastFailureLogged = Date.now()
              log({ level: 'warn', msg: 'pushed status could not read the line', concertId, error: String(error) })
            }
          }),
        ),
      )
    } finally {
      ticking = false
    }
  }

  return {
    get openStreams() {
      return open
    },

    /** Whether another stream can be opened now. */
    hasRoom() {
      return open < maxStreams
    },

    /**
     * A text/event-stream body for one place. `first` is the status read when the stream opened (so a
     * reconnecting client is told where it is at once); a terminal first status is sent and the stream ends.
     */
    open(ticket: Ticket, first: QueueStatus): ReadableStream<Uint8Array> {
      let stream!: Stream
      return new ReadableStream<Uint8Array>(
        {
          start: (controller) => {
            stream = { ticket, lastKey: '', lastWriteMs: 0, eventId: 0, controller, closed: false }
            open++
            let line = lines.get(ticket.concertId)
            if (!line) lines.set(ticket.concertId, (line = new Map()))
            let place = line.get(ticket.seq)
            if (!place) line.set(ticket.seq, (place = new Set()))
            // Sets iterate in insertion order: the first is the oldest.
            if (place.size >= STREAMS_PER_PLACE) end(place.values().next().value!)
            place.add(stream)
            if (!timer) timer = setInterval(tick, tickMs)
            write(stream, `retry: ${RETRY_MS}\n\n`)
            deliver(stream, first)
          },
          cancel: () => forget(stream),
        },
        // Counted in bytes, so desiredSize says how much is queued unread.
        { highWaterMark: 0, size: (chunk) => chunk?.byteLength ?? 0 },
      )
    },

    /** Ends every stream (shutdown): clients reconnect to another instance. */
    closeAll() {
      for (const line of [...lines.values()]) for (const place of [...line.values()]) for (const s of [...place]) end(s)
    },

    /** One fan-out round now (tests drive it by hand; instances run it every tick). */
    tick,

    /** A fan-out round now if anyone watches (after an admission step on this instance). */
    pushNow() {
      if (open > 0) void tick()
    },
  }
}

export type StatusPush = ReturnType<typeof statusPush>
