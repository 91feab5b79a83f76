import type { Bytes } from '../http/shared-answer'

// The seats of one schedule as the app keeps them to draw its maps: a status byte, a price and a hold's
// expiry per seat, read whole once (sql/catalogue/seat_states.sql) and then kept up to date by reading only
// the seats written since (sql/catalogue/seat_changes.sql). During an on-sale the map of a big hall
// changes every moment; building it whole in Postgres took ~250 ms a form for 100,000 seats, so a few
// hundred readers of a few changing halls kept both cores busy and holds waited seconds behind them. The
// changes of a cache window are a few rows from an index, and drawing a form here takes a few milliseconds.
//
// A seat is drawn as Postgres's hold_has_lapsed() would show it at the time of the last read: HELD with
// an expiry at or before that time shows as AVAILABLE (the lapse is lazy: nothing writes the seat).

const A = 65 // 'A'
const H = 72 // 'H'
const S = 83 // 'S'
const encoder = new TextEncoder()
/** A seat of the full map is OPEN, its number, `,"price":P,"status":"` and one of these. */
const OPEN = encoder.encode('{"number":')
const FULL_WORDS: Record<number, Uint8Array> = { [A]: encoder.encode('AVAILABLE"}'), [H]: encoder.encode('HELD"}'), [S]: encoder.encode('SOLD"}') }

/** A row of seat_states.sql or seat_changes.sql as Postgres sent it (statements' raw). */
type RawRow = (Uint8Array | null)[]

const text = (value: Uint8Array | null | undefined) => (value ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString() : '')

/** Versions are unique in the process: states read whole again never repeat one that maps were drawn at. */
let versions = 0

export class SeatStates {
  /** Version of what the maps show: it moves when a seat changed or a hold lapsed since the last read. */
  version = ++versions
  /** The snapshot the last read saw. */
  snapshot: string
  /** Postgres's time of the last read, microseconds since the epoch: what lapse is judged by. */
  nowUs: number
  /** The earliest expiry after nowUs of a hold shown as HELD (Infinity: none): the next change by time alone. */
  private nextLapseUs = Infinity

  private constructor(
    /** One of A, H (lapsed or not), S per seat, seat 1 first. */
    private readonly statuses: Uint8Array,
    private readonly prices: Float64Array,
    /** A HELD seat's expiry in microseconds since the epoch. */
    private readonly expiries: Float64Array,
    snapshot: string,
    nowUs: number,
  ) {
    this.snapshot = snapshot
    this.nowUs = nowUs
    this.findNextLapse()
  }

  /** From a row of seat_states.sql: [statuses, price runs, holds, snapshot, now]. */
  static read([statuses, runs, holds, snapshot, nowUs]: RawRow): SeatStates {
    const seats = statuses ? statuses.byteLength : 0
    const prices = new Float64Array(seats)
    for (const [first, last, price] of JSON.parse(text(runs)) as [number, number, number][]) prices.fill(price, first - 1, last)
    const expiries = new Float64Array(seats)
    for (const [seat, expiresUs] of JSON.parse(text(holds)) as [number, number][]) expiries[seat - 1] = expiresUs
    return new SeatStates(statuses ? new Uint8Array(statuses) : new Uint8Array(0), prices, expiries, text(snapshot), Number(text(nowUs)))
  }

  /** Bytes kept for this schedule, besides its drawn maps. */
  get size(): number {
    return this.statuses.byteLength + this.prices.byteLength + this.expiries.byteLength
  }

  /**
   * Applies a row of seat_changes.sql: [changes, snapshot, now]. Moves the version if a map would change.
   * False, and nothing applied, when a seat changed that these states do not have: a schedule's seats are
   * made with it, but one added by hand in SQL must show too (the caller reads the seats whole again).
   */
  apply([changes, snapshot, nowUs]: RawRow): boolean {
    const now = Number(text(nowUs))
    const written = JSON.parse(text(changes)) as [number, string, number, number | null][]
    if (written.some(([seat]) => seat < 1 || seat > this.statuses.length)) return false
    let changed = this.nextLapseUs <= now
    for (const [seat, status, price, expiresUs] of written) {
      const i = seat - 1
      this.statuses[i] = status.charCodeAt(0)
      this.prices[i] = price
      this.expiries[i] = expiresUs ?? 0
      changed = true
    }
    this.snapshot = text(snapshot)
    this.nowUs = now
    if (changed) {
      this.version = ++versions
      this.findNextLapse()
    }
    return true
  }

  private findNextLapse() {
    let next = Infinity
    for (let i = 0; i < this.statuses.length; i++) {
      if (this.statuses[i] === H && this.expiries[i]! > this.nowUs && this.expiries[i]! < next) next = this.expiries[i]!
    }
    this.nextLapseUs = next
  }

  /** What the maps show now: each seat's status (a lapsed hold shown AVAILABLE) and the prices as runs. */
  picture(): SeatPicture {
    const shown = this.statuses.slice()
    for (let i = 0; i < shown.length; i++) if (shown[i] === H && this.expiries[i]! <= this.nowUs) shown[i] = A
    const prices: PriceRun[] = []
    for (let i = 0; i < shown.length; i++) {
      const last = prices[prices.length - 1]
      if (last && last.price === this.prices[i]) last.to = i + 1
      else prices.push({ from: i + 1, to: i + 1, price: this.prices[i]! })
    }
    return { shown, prices }
  }
}

interface PriceRun {
  from: number
  to: number
  price: number
}

/**
 * The seats of a schedule as its maps show them at one moment. It does not change: a form drawn from it
 * can be drawn again and give the same bytes (a big form is not kept once compressed: shared-answer.ts).
 * About a byte a seat, against ~50 for the full map.
 */
export interface SeatPicture {
  /** A (a lapsed hold included), H or S per seat, seat 1 first. */
  readonly shown: Uint8Array
  /** Runs of consecutive seats with one price, in seat order. */
  readonly prices: readonly PriceRun[]
}

/**
 * The full map (the Seat array of GET /v1/schedules/{id}/seats) as JSON bytes, or only its AVAILABLE
 * seats: `{"number":1,"price":1000,"status":"AVAILABLE"}` per seat, written byte by byte (a 100,000-seat
 * map is ~5 MB; JSON.stringify of 100,000 objects takes several times as long).
 */
export function fullMap({ shown, prices }: SeatPicture, availableOnly: boolean): Bytes {
  const middles = prices.map((run) => encoder.encode(`,"price":${run.price},"status":"`))
  // Measured first, so the map is written into a buffer of its exact size: no copy of 5 MB at the end.
  let size = 1
  prices.forEach((run, r) => {
    for (let i = run.from - 1; i < run.to; i++) {
      if (availableOnly && shown[i] !== A) continue
      size += 1 + OPEN.length + digitsOf(i + 1) + middles[r]!.length + FULL_WORDS[shown[i]!]!.length
    }
  })
  const out = new Uint8Array(Math.max(2, size)) as Bytes
  let o = 0
  out[o++] = 91 // [
  prices.forEach((run, r) => {
    const middle = middles[r]!
    for (let i = run.from - 1; i < run.to; i++) {
      const status = shown[i]!
      if (availableOnly && status !== A) continue
      if (o > 1) out[o++] = 44 // ,
      for (let j = 0; j < OPEN.length; j++) out[o + j] = OPEN[j]!
      o += OPEN.length
      o = writeDigits(out, o, i + 1)
      for (let j = 0; j < middle.length; j++) out[o + j] = middle[j]!
      o += middle.length
      const word = FULL_WORDS[status]!
      for (let j = 0; j < word.length; j++) out[o + j] = word[j]!
      o += word.length
    }
  })
  out[o++] = 93 // ]
  return out
}

/** The compact map (SeatMapCompact) as JSON bytes: a character per seat and the prices as runs. */
export function compactMap({ shown, prices }: SeatPicture): Bytes {
  const status = Buffer.from(shown.buffer, shown.byteOffset, shown.byteLength).toString('latin1')
  return encoder.encode(`{"seats":${shown.length},"status":"${status}","prices":${JSON.stringify(prices)}}`) as Bytes
}

const digitsOf = (n: number) => (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10_000 ? 4 : n < 100_000 ? 5 : n < 1_000_000 ? 6 : String(n).length)

/** Writes a positive integer's decimal digits at `o`; answers the offset after them. */
function writeDigits(out: Uint8Array, o: number, n: number): number {
  const digits = digitsOf(n)
  for (let p = o + digits - 1; p >= o; p--) {
    out[p] = 48 + (n % 10)
    n = Math.floor(n / 10)
  }
  return o + digits
}
