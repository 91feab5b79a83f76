import { api, codeOf, patiently, problemText, type Answer } from './api'
import { clock, dateTime, h, refocus, replace, won } from './dom'

// The booking part of a concert page, once the person is ACTIVE: dates, the seat map (a page of seats
// at a time, so a 50,000-seat hall stays usable), the hold with its countdown, charging the balance
// when it is short, paying, and the receipt.

interface Schedule {
  scheduleId: string
  startsAt: string
  totalSeats: number
  availableSeats: number
}
interface Seat {
  number: number
  price: number
  status: 'AVAILABLE' | 'HELD' | 'SOLD'
}
interface Reservation {
  reservationId: string
  scheduleId: string
  seatNumber: number
  price: number
  status: string
  expiresAt: string
}

export interface BookingContext {
  concertTitle: string
  token: string
  queueToken: string
  section: HTMLElement
  /** Problems (role=alert); '' takes the last one back. */
  say(text: string): void
  /** Success notices (role=status, polite); '' takes the last one back. */
  tell(text: string): void
  /** The page waits out Retry-After (null: the retry got through). */
  retryNotice(answer: Answer | null): void
  /** The session may have changed (403, payment): ask the line now. */
  sessionChanged(): void
  onPaid(): void
}

const PAGE = 100
const COLUMNS = 10
/**
 * The server shares one read of a seat map per short window (CATALOGUE_CACHE_MS, 250 ms by default), so
 * a map asked for right after the person's own hold or release, or right after a hold was refused because
 * someone else has the seat, may not show it yet; for this long the page trusts what the person just did,
 * or was just told, over such a map.
 */
const OWN_CHANGE_MS = 2000

export function booking(ctx: BookingContext) {
  const { token, queueToken } = ctx
  const call = <T>(path: string, c: Parameters<typeof api>[1] = {}) =>
    patiently(() => api<T>(path, { token, queueToken, ...c }), ctx.retryNotice)
  let schedules: Schedule[] = []
  let schedule: Schedule | null = null
  let seats: Seat[] = []
  /** The person's own holds by reservation id: the map shows them as theirs, and a click shows the hold again. */
  const mine = new Map<string, Reservation>()
  let page = 0
  let focusSeat = 1
  let busy = false
  const ownChanges = new Map<number, { status: Seat['status']; at: number }>()

  const mapArea = h('div', { class: 'seatmap-area' })
  const holdArea = h('div', { class: 'hold-area' })

  function refused(answer: Answer): boolean {
    if (answer.ok) return false
    if (codeOf(answer) === 'QUEUE_NOT_ACTIVE') ctx.sessionChanged()
    ctx.say(problemText(answer))
    return true
  }

  async function start() {
    // The heading stays when the dates arrive: redrawing it would drop the focus to <body>.
    const heading = h('h2', { id: 'booking-title', tabindex: -1 }, 'Choose a date')
    const loading = h('p', {}, 'Loading dates…')
    replace(ctx.section, heading, loading)
    heading.focus()
    const [answer, held] = await Promise.all([call<Schedule[]>(`/v1/concerts/${concertIdOf()}/schedules`), liveHolds()])
    if (refused(answer)) return
    schedules = answer.body
    const list = h('ul', { class: 'dates' })
    for (const s of answer.body) {
      list.append(
        h(
          'li',
          {},
          h(
            'button',
            { type: 'button', class: 'date', 'aria-describedby': `free-${s.scheduleId}`, onclick: () => chooseSchedule(s) },
            dateTime(s.startsAt),
          ),
          h('span', { id: `free-${s.scheduleId}`, class: 'free' }, `${s.availableSeats.toLocaleString('en-US')} of ${s.totalSeats.toLocaleString('en-US')} seats free`),
        ),
      )
    }
    loading.replaceWith(list)
    ctx.section.append(mapArea, holdArea)
    for (const r of held) if (schedules.some((s) => s.scheduleId === r.scheduleId)) mine.set(r.reservationId, r)
    // Holds made before a reload are still the person's (and count toward their limit): show the newest
    // on its date, with its countdown, Pay and Release, as before the reload.
    const newest = [...mine.values()][0]
    if (newest) {
      await chooseSchedule(schedules.find((s) => s.scheduleId === newest.scheduleId)!)
      await showHold(newest)
    }
  }

  /**
   * The person's live holds, newest first. Every hold lasts the same time, so once a page of the list
   * (newest first) ends in a lapsed one, the older pages hold nothing live.
   */
  async function liveHolds(): Promise<Reservation[]> {
    const found: Reservation[] = []
    let path: string | null = '/v1/reservations?limit=100'
    for (let pages = 0; path && pages < 10; pages++) {
      const answer: Answer<Reservation[]> = await call<Reservation[]>(path)
      if (refused(answer)) break
      const now = Date.now()
      found.push(...answer.body.filter((r) => r.status === 'HELD' && Date.parse(r.expiresAt) > now))
      const last = answer.body.at(-1)
      path = last && Date.parse(last.expiresAt) > now ? answer.next : null
    }
    return found
  }

  /** The person's live hold of a seat on the date shown, if any. */
  function mineAt(seatNumber: number): Reservation | undefined {
    for (const r of mine.values()) {
      if (r.scheduleId === schedule?.scheduleId && r.seatNumber === seatNumber && Date.parse(r.expiresAt) > Date.now()) return r
    }
  }

  function concertIdOf() {
    return location.pathname.split('/')[2]!
  }

  async function chooseSchedule(s: Schedule) {
    schedule = s
    page = 0
    focusSeat = 1
    await loadSeats(true)
  }

  async function loadSeats(moveFocus = false) {
    if (!schedule) return
    const asked = Date.now()
    const answer = await call<Seat[]>(`/v1/schedules/${schedule.scheduleId}/seats`)
    if (refused(answer)) return
    seats = answer.body.map((seat) => {
      const own = ownChanges.get(seat.number)
      return own && asked - own.at < OWN_CHANGE_MS ? { ...seat, status: own.status } : seat
    })
    renderMap(moveFocus)
  }

  function renderMap(moveFocus: boolean) {
    if (!schedule) return
    const pages = Math.max(1, Math.ceil(seats.length / PAGE))
    page = Math.min(page, pages - 1)
    const shown = seats.slice(page * PAGE, page * PAGE + PAGE)
    if (!shown.some((s) => s.number === focusSeat)) focusSeat = shown[0]?.number ?? 1
    const grid = h('div', { class: 'seats', role: 'grid', 'aria-label': `Seats ${shown[0]?.number ?? 0} to ${shown.at(-1)?.number ?? 0}`, onkeydown: onGridKey })
    for (let r = 0; r < shown.length; r += COLUMNS) {
      const row = h('div', { role: 'row', class: 'seat-row' })
      for (const seat of shown.slice(r, r + COLUMNS)) {
        // The person's own live hold is theirs even on a map read a moment before it (one shared read per
        // CATALOGUE_CACHE_MS: a reload right after holding can meet one).
        const own = seat.status === 'SOLD' ? undefined : mineAt(seat.number)
        const free = seat.status === 'AVAILABLE' && !own
        row.append(
          h(
            'div',
            { role: 'gridcell' },
            h(
              'button',
              {
                type: 'button',
                class: `seat ${own ? 'held mine' : seat.status.toLowerCase()}`,
                'data-seat': seat.number,
                tabindex: seat.number === focusSeat ? 0 : -1,
                'aria-disabled': free || own ? undefined : 'true',
                'aria-label': `Seat ${seat.number}, ${free ? 'available' : own ? 'held for you' : seat.status === 'HELD' ? 'held' : 'sold'}, ${won(seat.price)}`,
                onclick: () => (own ? showHold(own) : pick(seat)),
              },
              seat.number,
            ),
          ),
        )
      }
      grid.append(row)
    }
    const free = seats.filter((s) => s.status === 'AVAILABLE' && !mineAt(s.number)).length
    const pager = h(
      'div',
      { class: 'pager' },
      h('button', { type: 'button', disabled: page === 0, onclick: () => turn(page - 1) }, 'Previous seats'),
      h('span', { class: 'num' }, `Seats ${shown[0]?.number ?? 0}–${shown.at(-1)?.number ?? 0} of ${seats.length.toLocaleString('en-US')}`),
      h('button', { type: 'button', disabled: page >= pages - 1, onclick: () => turn(page + 1) }, 'Next seats'),
    )
    const jump = h(
      'form',
      {
        class: 'jump',
        onsubmit: (e: Event) => {
          e.preventDefault()
          const n = Number((jump.querySelector('input') as HTMLInputElement).value)
          if (Number.isInteger(n) && n >= 1 && n <= seats.length) {
            focusSeat = n
            turn(Math.floor((n - 1) / PAGE))
          } else ctx.say(`Seats are numbered 1 to ${seats.length}.`)
        },
      },
      h('label', { for: 'jump-seat' }, 'Go to seat'),
      h('input', { id: 'jump-seat', type: 'number', min: 1, max: seats.length, inputmode: 'numeric' }),
      h('button', { type: 'submit' }, 'Go'),
    )
    replace(
      mapArea,
      h('h3', { id: 'map-title', tabindex: -1 }, `Seats on ${dateTime(schedule.startsAt)}`),
      h('p', { class: 'legend' }, h('span', { class: 'key available' }, 'Available'), h('span', { class: 'key held mine' }, 'Yours'), h('span', { class: 'key held' }, 'Held'), h('span', { class: 'key sold' }, 'Sold'), ` ${free.toLocaleString('en-US')} free. Use the arrow keys to move between seats.`),
      pages > 1 ? pager : null,
      pages > 1 ? jump : null,
      grid,
      h('button', { type: 'button', class: 'secondary', onclick: () => loadSeats() }, 'Refresh the map'),
    )
    if (moveFocus) (mapArea.querySelector('#map-title') as HTMLElement).focus()
  }

  function turn(to: number) {
    page = to
    if (Math.floor((focusSeat - 1) / PAGE) !== page) focusSeat = page * PAGE + 1
    renderMap(false)
    ;(mapArea.querySelector(`[data-seat="${focusSeat}"]`) as HTMLElement | null)?.focus()
  }

  function onGridKey(e: Event) {
    const key = (e as KeyboardEvent).key
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -COLUMNS, ArrowDown: COLUMNS, Home: -(focusSeat - 1) % COLUMNS, End: COLUMNS - 1 - ((focusSeat - 1) % COLUMNS) }[key]
    if (step === undefined) return
    e.preventDefault()
    const target = focusSeat + step
    if (target < 1 || target > seats.length) return
    focusSeat = target
    if (Math.floor((target - 1) / PAGE) !== page) return turn(Math.floor((target - 1) / PAGE))
    for (const b of Array.from(mapArea.querySelectorAll<HTMLElement>('[data-seat]'))) b.tabIndex = Number(b.dataset.seat) === target ? 0 : -1
    ;(mapArea.querySelector(`[data-seat="${target}"]`) as HTMLElement | null)?.focus()
  }

  async function pick(seat: Seat) {
    if (!schedule || busy) return
    focusSeat = seat.number
    if (seat.status !== 'AVAILABLE') return ctx.say(`Seat ${seat.number} is ${seat.status === 'HELD' ? 'held by someone else' : 'sold'}. Pick an available seat.`)
    busy = true
    try {
      const answer = await call<Reservation>('/v1/reservations', { body: { scheduleId: schedule.scheduleId, seatNumber: seat.number } })
      if (answer.status === 409 && codeOf(answer) === 'SEAT_UNAVAILABLE') {
        ctx.say(`Seat ${seat.number} was just taken by someone else. The map is up to date again: pick another seat.`)
        ownChanges.set(seat.number, { status: 'HELD', at: Date.now() })
        await loadSeats()
        ;(mapArea.querySelector(`[data-seat="${seat.number}"]`) as HTMLElement | null)?.focus()
        return
      }
      if (refused(answer)) return
      ctx.say('')
      ctx.tell('')
      mine.set(answer.body.reservationId, answer.body)
      ownChanges.set(seat.number, { status: 'HELD', at: Date.now() })
      ctx.sessionChanged() // a hold extends the session: the countdown moves
      await showHold(answer.body)
      await loadSeats()
    } finally {
      busy = false
    }
  }

  async function showHold(r: Reservation, payKey: string = crypto.randomUUID()) {
    const balanceAnswer = await call<{ balance: number }>('/v1/balance')
    if (refused(balanceAnswer)) return
    const balance = balanceAnswer.body.balance
    const short = Math.max(0, r.price - balance)
    const chargeKey = crypto.randomUUID()
    replace(
      holdArea,
      h(
        'section',
        { class: 'hold', 'aria-labelledby': 'hold-title' },
        h('h3', { id: 'hold-title', tabindex: -1 }, `Seat ${r.seatNumber} is held for you`),
        h('p', {}, 'Time left to pay: ', h('strong', { class: 'num countdown', 'data-until': r.expiresAt, 'data-expired': 'The hold has lapsed' }, clock(Date.parse(r.expiresAt) - Date.now()))),
        h('p', {}, `Price ${won(r.price)}. Your balance ${won(balance)}.`),
        short > 0
          ? h('p', {}, `Your balance is ${won(short)} short. `, h('button', { type: 'button', onclick: () => charge(r, short, chargeKey, payKey) }, `Charge ${won(short)}`))
          : null,
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'primary', disabled: short > 0, onclick: () => payFor(r, payKey) }, `Pay ${won(r.price)}`),
          h('button', { type: 'button', class: 'secondary', onclick: () => release(r) }, 'Release the seat'),
        ),
      ),
    )
    ;(holdArea.querySelector('#hold-title') as HTMLElement).focus()
  }

  async function charge(r: Reservation, amount: number, key: string, payKey: string) {
    const answer = await call('/v1/balance/charges', { body: { amount }, idempotencyKey: key })
    if (refused(answer)) return
    ctx.tell(`Charged ${won(amount)}.`)
    await showHold(r, payKey)
  }

  async function payFor(r: Reservation, key: string) {
    if (busy) return
    busy = true
    try {
      const answer = await call<{ paymentId: string; amount: number; balance: number }>('/v1/payments', { body: { reservationId: r.reservationId }, idempotencyKey: key })
      if (answer.ok) return receipt(r, answer.body)
      const code = codeOf(answer)
      ctx.say(problemText(answer))
      if (code === 'INSUFFICIENT_BALANCE') return showHold(r) // a declined key replays its 402: a new attempt gets a new key
      await goneIf(r, code)
      if (code === 'QUEUE_NOT_ACTIVE') ctx.sessionChanged()
    } finally {
      busy = false
    }
  }

  async function release(r: Reservation) {
    const answer = await call(`/v1/reservations/${r.reservationId}`, { method: 'DELETE' })
    if (refused(answer)) return goneIf(r, codeOf(answer))
    ownChanges.set(r.seatNumber, { status: 'AVAILABLE', at: Date.now() })
    ctx.tell(`Seat ${r.seatNumber} released.`)
    await holdGone(r)
  }

  /** A refusal of a Pay or a Release that says the hold is no longer there: lapsed, or paid elsewhere. */
  async function goneIf(r: Reservation, code: string | undefined) {
    if (code === 'HOLD_EXPIRED' || code === 'ALREADY_PAID') await holdGone(r, code === 'ALREADY_PAID')
  }

  /**
   * The hold is no longer there to pay or release: released here, lapsed, or paid meanwhile (in another
   * tab: the panel of this one still offered Pay and Release; helper-40). Its panel goes and the focus that
   * was on its buttons goes to the map. A paid seat is shown sold without asking: the payment may have
   * ended the session, whose token then reads no map, so the line is asked instead.
   */
  async function holdGone(r: Reservation, paid = false) {
    mine.delete(r.reservationId)
    replace(holdArea)
    if (paid) {
      if (schedule?.scheduleId === r.scheduleId) {
        seats = seats.map((seat) => (seat.number === r.seatNumber ? { ...seat, status: 'SOLD' } : seat))
        renderMap(false)
      }
      ctx.sessionChanged()
    } else await loadSeats()
    refocus(mapArea.querySelector<HTMLElement>('#map-title'))
  }

  const dateOf = (r: Reservation) => {
    const s = schedules.find((s) => s.scheduleId === r.scheduleId)
    return s ? dateTime(s.startsAt) : ''
  }

  function receipt(r: Reservation, paid: { paymentId: string; amount: number; balance: number }) {
    replace(
      ctx.section,
      h(
        'section',
        { class: 'receipt', 'aria-labelledby': 'receipt-title' },
        h('h2', { id: 'receipt-title', tabindex: -1 }, 'Receipt: your seat is booked'),
        h('dl', {},
          h('dt', {}, 'Concert'), h('dd', {}, ctx.concertTitle),
          h('dt', {}, 'Date'), h('dd', {}, dateOf(r)),
          h('dt', {}, 'Seat'), h('dd', {}, String(r.seatNumber)),
          h('dt', {}, 'Paid'), h('dd', {}, won(paid.amount)),
          h('dt', {}, 'Balance left'), h('dd', {}, won(paid.balance)),
          h('dt', {}, 'Payment'), h('dd', { class: 'mono' }, paid.paymentId),
        ),
      ),
    )
    ;(ctx.section.querySelector('#receipt-title') as HTMLElement).focus()
    ctx.onPaid()
    ctx.sessionChanged()
  }

  return { start }
}
