import { api, codeOf, onSignedOut, patiently, problemText, waitText, type Answer } from './api'
import { booking } from './booking'
import { aboutWait, clock, dateTime, h, refocus, replace } from './dom'
import { isTerminal, pushWanted, watchQueue, type QueueStatus, type Watch } from './queue'

// The waiting-room page: GET / lists the concerts; /concerts/{id} is the line and the booking. The
// user token and the queue tokens live in sessionStorage: one person per tab, gone when it closes.

const devTokens = document.querySelector('meta[name="dev-tokens"]')?.getAttribute('content') === 'on'
const store = {
  get token() {
    return sessionStorage.getItem('cwr.token')
  },
  get user() {
    return sessionStorage.getItem('cwr.user')
  },
  signIn(user: string, token: string) {
    sessionStorage.setItem('cwr.user', user)
    sessionStorage.setItem('cwr.token', token)
    sessionStorage.setItem('cwr.arrived', 'signed-in')
  },
  signOut(why?: 'refused') {
    sessionStorage.clear()
    if (why) sessionStorage.setItem('cwr.arrived', 'signed-out')
  },
  /** How the page was reached, once: right after signing in, or after the API refused the token (signing in reloads the page, so it is kept across that). */
  arrived() {
    const how = sessionStorage.getItem('cwr.arrived')
    sessionStorage.removeItem('cwr.arrived')
    return how
  },
  queueToken: (concertId: string) => sessionStorage.getItem(`cwr.queue.${concertId}`),
  setQueueToken(concertId: string, token: string | null) {
    if (token) sessionStorage.setItem(`cwr.queue.${concertId}`, token)
    else sessionStorage.removeItem(`cwr.queue.${concertId}`)
  },
}

const main = document.getElementById('main')!
const account = document.getElementById('account')!
const alertBox = h('div', { class: 'alert', role: 'alert' })
const statusBox = h('div', { class: 'notice', role: 'status' })
const announcer = h('p', { class: 'sr-only', 'aria-live': 'polite' })
document.body.append(alertBox, statusBox, announcer)
const arrived = store.arrived()

/** A problem, in the alert (it interrupts a screen reader); it replaces a notice, which would be out of date. */
function say(text: string) {
  alertBox.textContent = text
  alertBox.classList.toggle('shown', text !== '')
  if (text !== '') tell('')
}

/** A success notice (charged, released), in a polite status region: never in the alert, which is for problems. */
function tell(text: string) {
  statusBox.textContent = text
  statusBox.classList.toggle('shown', text !== '')
  if (text !== '') say('')
}

// The API refused the person's token (expired, or not one it issued): sign out and ask to sign in again.
// Reloading drops whatever the dead token was doing (watching the line, booking); the place in line is
// not lost, as joining again returns the same place.
let signingOut = false
onSignedOut(() => {
  if (signingOut) return
  signingOut = true
  store.signOut('refused')
  location.reload()
})

/** Says that the page waits out Retry-After; null takes it back once the retry got through (unless something else was said since). */
let waitSaid = ''
function retryNotice(answer: Answer | null) {
  if (answer) return say((waitSaid = waitText(answer)))
  if (waitSaid !== '' && alertBox.textContent === waitSaid) say('')
  waitSaid = ''
}

// Countdowns: every element with data-until shows the time left to it.
setInterval(() => {
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('[data-until]'))) {
    const left = Date.parse(el.dataset.until!) - Date.now()
    el.textContent = left > 0 ? clock(left) : (el.dataset.expired ?? '0:00')
  }
}, 1000)

/** The subject of a pasted token, for display only (the server verifies it). */
function subjectOf(token: string): string {
  try {
    return JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sub ?? 'you'
  } catch {
    return 'you'
  }
}

function renderAccount() {
  if (store.token) {
    replace(
      account,
      h('span', {}, 'Signed in as ', h('strong', {}, store.user ?? '')),
      ' ',
      h('button', { type: 'button', class: 'secondary', onclick: () => (store.signOut(), location.reload()) }, 'Sign out'),
    )
    return
  }
  const refused = arrived === 'signed-out'
  const describedBy = refused ? 'signed-out' : undefined
  const field = devTokens
    ? h('input', { id: 'user-name', name: 'user', autocomplete: 'username', required: true, maxlength: 128, 'aria-describedby': describedBy })
    : h('input', { id: 'user-name', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': describedBy })
  const form = h(
    'form',
    {
      class: 'sign-in',
      onsubmit: async (e: Event) => {
        e.preventDefault()
        const value = (field as HTMLInputElement).value.trim()
        if (!value) return
        if (!devTokens) {
          store.signIn(subjectOf(value), value)
          return location.reload()
        }
        const answer = await patiently(() => api<{ token: string }>('/v1/dev/user-tokens', { body: { userId: value } }), retryNotice)
        if (!answer.ok) return say(problemText(answer))
        store.signIn(value, answer.body.token)
        location.reload()
      },
    },
    refused ? h('p', { id: 'signed-out', class: 'signed-out' }, 'You were signed out: your sign-in has expired or is not valid. Sign in again to carry on.') : null,
    h('label', { for: 'user-name' }, devTokens ? 'Your name' : 'Your access token'),
    field,
    h('button', { type: 'submit' }, 'Sign in'),
  )
  replace(account, form)
  // Straight to the field, which reads out why (its description).
  if (refused) field.focus()
}

async function concertList() {
  document.title = 'Concerts — Concert tickets'
  const answer = await patiently(() => api<{ concertId: string; title: string; schedules: number }[]>('/v1/concerts'), retryNotice)
  if (!answer.ok) return replace(main, h('h1', {}, 'Concerts'), h('p', {}, problemText(answer)))
  replace(
    main,
    h('h1', { tabindex: -1 }, 'Concerts'),
    answer.body.length === 0
      ? h('p', {}, 'No concerts on sale yet.')
      : h(
          'ul',
          { class: 'concerts' },
          ...answer.body.map((c) =>
            h('li', {}, h('a', { href: `/concerts/${c.concertId}` }, c.title), h('span', {}, ` ${c.schedules} ${c.schedules === 1 ? 'date' : 'dates'}`)),
          ),
        ),
  )
  // Signing in reloads the page: the person carries on from the top of the list, not from nowhere.
  if (arrived === 'signed-in') main.querySelector('h1')!.focus()
}

async function concertPage(concertId: string) {
  const list = await patiently(() => api<{ concertId: string; title: string }[]>('/v1/concerts?limit=100'), retryNotice)
  const concert = list.ok ? list.body.find((c) => c.concertId === concertId) : undefined
  const title = concert?.title ?? 'Concert'
  document.title = `${title} — Concert tickets`
  const line = h('section', { class: 'line', 'aria-labelledby': 'line-title' })
  const bookingArea = h('section', { class: 'booking', 'aria-labelledby': 'booking-title' })
  // Outside the line's panel, which is redrawn as the status changes: a live region must stay in place to be heard.
  const connection = h('p', { class: 'connection', role: 'status' })
  replace(main, h('h1', {}, title), connection, line, bookingArea)
  const reconnecting = (on: boolean) => {
    // Written only when it changes: the same words written again are announced again by screen readers.
    const text = on ? 'Reconnecting… Your place is kept; what you see may be out of date until then.' : ''
    if (connection.textContent !== text) connection.textContent = text
  }

  const token = store.token
  if (!token) return replace(line, h('h2', { id: 'line-title' }, 'Waiting room'), h('p', {}, 'Sign in above to join the waiting room.'))

  let watch: Watch | null = null
  let firstPosition: number | null = null
  let lastAnnounced = 0
  let booked = false
  let bookingStarted = false

  function joinView(message?: string) {
    replace(
      line,
      h('h2', { id: 'line-title' }, 'Waiting room'),
      message ? h('p', {}, message) : null,
      h('button', { type: 'button', class: 'primary', id: 'join', onclick: join }, message ? 'Join again' : 'Join the waiting room'),
    )
  }

  async function join() {
    say('')
    const answer = await patiently(() => api<QueueStatus & { token: string }>('/v1/queue/tokens', { token, body: { concertId } }), retryNotice)
    if (!answer.ok) {
      if (codeOf(answer) === 'SOLD_OUT') return soldOut()
      return say(problemText(answer))
    }
    store.setQueueToken(concertId, answer.body.token)
    firstPosition = null
    follow(answer.body.token, answer.body)
    ;(line.querySelector('#line-title') as HTMLElement | null)?.focus()
  }

  function soldOut() {
    watch?.stop()
    store.setQueueToken(concertId, null)
    replace(line, h('h2', { id: 'line-title', tabindex: -1 }, 'Sold out'), h('p', {}, 'Every seat of this concert is sold.'))
    replace(bookingArea)
    announce('Sold out: every seat of this concert is sold.')
  }

  function follow(queueToken: string, first?: QueueStatus) {
    watch?.stop()
    const onStatus = (s: QueueStatus) => show(s, queueToken)
    if (first) onStatus(first)
    watch = watchQueue(token!, queueToken, onStatus, retryNotice, reconnecting)
  }

  function show(s: QueueStatus, queueToken: string) {
    if (s.status === 'WAITING') return waiting(s)
    if (s.status === 'ACTIVE') return active(s, queueToken)
    if (isTerminal(s)) store.setQueueToken(concertId, null)
    if (s.status === 'SOLD_OUT') return soldOut()
    if (s.status === 'DONE') {
      // Paid here: the receipt stays. Paid elsewhere (another tab): what this page was booking is over.
      if (!booked) placeOver('Your session has ended.')
      return
    }
    placeOver('Your place has expired: the page stopped hearing from you for too long, or your time to book ran out.')
    announce('Your place has expired.')
  }

  /** The place is over: the booking goes, the person is offered to join again, and the focus waits there. */
  function placeOver(message: string) {
    replace(bookingArea)
    bookingStarted = false
    joinView(message)
    refocus(line.querySelector<HTMLElement>('#join'))
  }

  function announce(text: string) {
    announcer.textContent = text
  }

  function waiting(s: QueueStatus) {
    let panel = line.querySelector('.waiting')
    if (!panel) {
      replace(
        line,
        h('h2', { id: 'line-title', tabindex: -1 }, 'You are in the waiting room'),
        (panel = h(
          'div',
          { class: 'waiting' },
          h('p', { class: 'place' }, h('span', { class: 'label' }, 'Your place in line'), h('strong', { class: 'num big', id: 'position' }, '')),
          h('p', {}, h('span', { class: 'label' }, 'Estimated wait'), h('strong', { class: 'num', id: 'wait' }, '')),
          h('progress', { id: 'progress', max: 100, value: 0, 'aria-label': 'Progress through the line' }),
          h('p', { class: 'note', id: 'wait-note' }, ''),
        )),
      )
    }
    const position = document.getElementById('position')!
    const wait = document.getElementById('wait')!
    const note = document.getElementById('wait-note')!
    const progress = document.getElementById('progress') as HTMLProgressElement
    if (s.position === null) {
      position.textContent = 'not yet drawn'
      wait.textContent = '—'
      if (s.opensAt) {
        const left = h('span', { class: 'num', 'data-until': s.opensAt, 'data-expired': 'a moment' }, clock(Date.parse(s.opensAt) - Date.now()))
        replace(note, `The sale opens at ${dateTime(s.opensAt)} (in `, left, '). Everyone here before then gets a random place at the opening: arriving early gives no advantage.')
      } else note.textContent = 'Waiting for the line to move.'
      progress.value = 0
      return
    }
    firstPosition ??= s.position
    if (s.position > firstPosition) firstPosition = s.position
    position.textContent = s.position.toLocaleString('en-US')
    wait.textContent = aboutWait(s.estimatedWaitSeconds)
    note.textContent = `Keep this page open: ${pushWanted() ? 'it updates by itself' : 'it checks for you'}. Leaving it for long gives up your place.`
    progress.value = Math.round(((firstPosition - s.position + 1) / firstPosition) * 100)
    // Announce the first place, then at most every 15 s, so screen readers are not flooded.
    if (Date.now() - lastAnnounced > 15_000 || s.position === 1) {
      lastAnnounced = Date.now()
      announce(`You are number ${s.position} in line. Estimated wait ${aboutWait(s.estimatedWaitSeconds)}.`)
    }
  }

  function active(s: QueueStatus, queueToken: string) {
    if (booked) return
    const until = s.activeUntil!
    const existing = line.querySelector<HTMLElement>('.active [data-until]')
    if (existing) {
      existing.dataset.until = until
      return
    }
    replace(
      line,
      h('h2', { id: 'line-title', tabindex: -1 }, "It's your turn"),
      h('div', { class: 'active' }, h('p', {}, 'Time left to book: ', h('strong', { class: 'num countdown', 'data-until': until, 'data-expired': 'Time is up' }, clock(Date.parse(until) - Date.now())))),
    )
    announce("It's your turn. Choose a date and a seat.")
    if (!bookingStarted) {
      bookingStarted = true
      booking({
        concertTitle: title,
        token: token!,
        queueToken,
        section: bookingArea,
        say,
        tell,
        retryNotice,
        sessionChanged: () => watch?.refresh(),
        onPaid: () => {
          booked = true
          say('')
          tell('')
          replace(line, h('h2', { id: 'line-title' }, 'Booked'), h('p', {}, 'Thank you. Your receipt is below.'))
        },
      }).start()
    }
  }

  const saved = store.queueToken(concertId)
  if (saved) follow(saved)
  else {
    joinView()
    // Signing in reloads the page: the person carries on at the next step, not from nowhere.
    if (arrived === 'signed-in') line.querySelector<HTMLElement>('#join')!.focus()
  }
}

renderAccount()
const path = location.pathname.match(/^\/concerts\/([0-9a-f-]{36})\/?$/i)
if (path) void concertPage(path[1]!.toLowerCase())
else void concertList()
