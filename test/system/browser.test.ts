import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { ADMIN_KEY } from '../support/app'
import { haveChromium, launchChromium, person as newPerson, pageInstance, seriousViolations, tabTo } from '../support/browser'
import type { TestDatabase } from '../support/database'
import { http, type Instance } from '../support/instances'
import { describeWith } from '../support/services'

// Two people go through the waiting-room page at once in headless Chromium against a real instance:
// both sign in and join, both wait (the line is paused), both are admitted, one takes a seat, the other
// clicks the same seat on a map that was loaded before, is told it was taken, sees the map refreshed and
// picks another; both charge their balance and pay. Once with pushed status (SSE), once with ?live=poll.
// One of the two uses the keyboard only. Screenshots of each step go to a temp dir (printed); axe-core
// checks the waiting page and the seat map for serious accessibility violations.

const PRICE = 50_000

describeWith(['DATABASE_URL', 'REDIS_URL'], 'the waiting-room page in a real browser', () => {
  let db: TestDatabase
  let instance: Instance
  let browser: Browser
  const shots = mkdtempSync(join(tmpdir(), 'cwr-page-'))

  beforeAll(async () => {
    if (!haveChromium) return
    ;({ db, instance } = await pageInstance())
    browser = await launchChromium()
    console.log(`screenshots: ${shots}`)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await instance?.stop()
    await db?.drop()
  })

  const person = async (name: string, live: 'push' | 'poll') => ({ ...(await newPerson(browser, name)), live })

  /** A concert of one date, created through the admin API (with an opening, when given); its id. */
  async function concertOf(title: string, startsAt: string, seatCount = 10, salesOpenAt?: string): Promise<string> {
    const created = await http(instance.url, '/v1/admin/concerts', {
      headers: { 'x-admin-key': ADMIN_KEY },
      body: { title, ...(salesOpenAt ? { salesOpenAt } : {}), schedules: [{ startsAt, seatCount, price: PRICE }] },
    })
    expect(created.status).toBe(201)
    return created.body.concertId
  }

  async function flow(live: 'push' | 'poll') {
    const concertId = await concertOf(`Night at the page (${live})`, '2027-09-01T19:00:00Z', 20)
    const line = `/v1/admin/concerts/${concertId}/queue`
    expect((await http(instance.url, line, { method: 'PATCH', headers: { 'x-admin-key': ADMIN_KEY }, body: { paused: true } })).status).toBe(200)
    const logsBefore = instance.logs.length
    const query = live === 'poll' ? '?live=poll' : ''
    const shot = (p: { page: Page; name: string }, step: string) => p.page.screenshot({ path: join(shots, `${live}-${p.name}-${step}.png`), fullPage: true })

    const ann = await person('ann', live) // mouse
    const ben = await person('ben', live) // keyboard only
    try {
      // Sign in and find the concert.
      await ann.page.goto(`${instance.url}/${query}`)
      await ann.page.getByLabel('Your name').fill(`ann-${live}`)
      await ann.page.getByRole('button', { name: 'Sign in' }).click()
      // Signing in reloads the page; the concert list was there before it, so wait for the reload, or the
      // click below can land first and leave Ann signed out.
      await ann.page.getByText('Signed in as').waitFor()
      await ann.page.getByRole('link', { name: `Night at the page (${live})` }).click()
      await ben.page.goto(`${instance.url}/concerts/${concertId}${query}`)
      await ben.page.getByLabel('Your name').waitFor()
      await tabTo(ben.page, '#user-name')
      await ben.page.keyboard.type(`ben-${live}`)
      await ben.page.keyboard.press('Enter')
      await ben.page.getByText('Signed in as').waitFor()
      await ann.page.waitForURL(`**/concerts/${concertId}`)
      if (live === 'poll') await ann.page.goto(`${instance.url}/concerts/${concertId}${query}`)

      // Both join and wait: the line is paused, so they see places 1 and 2.
      await ann.page.getByRole('button', { name: 'Join the waiting room' }).click()
      await ann.page.locator('#position', { hasText: '1' }).waitFor()
      await ben.page.getByRole('button', { name: 'Join the waiting room' }).waitFor()
      await tabTo(ben.page, '#join')
      await ben.page.keyboard.press('Enter')
      await ben.page.locator('#position', { hasText: '2' }).waitFor()
      await shot(ann, '1-waiting')
      await shot(ben, '1-waiting')
      expect(await seriousViolations(ben.page)).toEqual([])
      expect(await ben.page.locator('[aria-live="polite"]').textContent()).toContain('number 2 in line')

      // The operator resumes: both are admitted within a tick or two and the page says so by itself.
      expect((await http(instance.url, line, { method: 'PATCH', headers: { 'x-admin-key': ADMIN_KEY }, body: { paused: false } })).status).toBe(200)
      for (const p of [ann, ben]) await p.page.getByRole('heading', { name: "It's your turn" }).waitFor({ timeout: 10_000 })
      await shot(ann, '2-active')

      // Both open the seat map of the one date.
      await ann.page.getByRole('button', { name: /2027/ }).click()
      await ann.page.getByRole('button', { name: 'Seat 5, available' }).waitFor()
      await ben.page.getByRole('button', { name: /2027/ }).waitFor()
      await tabTo(ben.page, 'button.date')
      await ben.page.keyboard.press('Enter')
      await ben.page.getByRole('button', { name: 'Seat 1, available' }).waitFor()
      expect(await seriousViolations(ben.page)).toEqual([])

      // Ann takes seat 5.
      await ann.page.getByRole('button', { name: 'Seat 5, available' }).click()
      await ann.page.getByRole('heading', { name: 'Seat 5 is held for you' }).waitFor()
      await shot(ann, '3-held')

      // Ben's map still shows seat 5 free; he walks to it with the arrow keys and presses Enter.
      await tabTo(ben.page, '[data-seat="1"]')
      for (let i = 0; i < 4; i++) await ben.page.keyboard.press('ArrowRight')
      expect(await ben.page.evaluate(() => (document.activeElement as HTMLElement).dataset.seat)).toBe('5')
      await ben.page.keyboard.press('Enter')
      await ben.page.getByRole('alert').filter({ hasText: 'Seat 5 was just taken' }).waitFor()
      await ben.page.getByRole('button', { name: 'Seat 5, held' }).waitFor()
      await shot(ben, '3-seat-taken')
      await ben.page.keyboard.press('ArrowRight')
      expect(await ben.page.evaluate(() => (document.activeElement as HTMLElement).dataset.seat)).toBe('6')
      await ben.page.keyboard.press('Enter')
      await ben.page.getByRole('heading', { name: 'Seat 6 is held for you' }).waitFor()

      // Both are short of money: charge, then pay; the receipt follows.
      await ann.page.getByRole('button', { name: `Charge ${PRICE.toLocaleString('en-US')} won` }).click()
      await ann.page.getByRole('button', { name: `Pay ${PRICE.toLocaleString('en-US')} won` }).and(ann.page.locator(':not([disabled])')).click()
      await ann.page.getByRole('heading', { name: 'Receipt: your seat is booked' }).waitFor()
      await tabTo(ben.page, '.hold button:not(.primary):not(.secondary)') // Charge
      await ben.page.keyboard.press('Enter')
      await ben.page.locator('.hold button.primary:not([disabled])').waitFor()
      await tabTo(ben.page, '.hold button.primary') // Pay
      await ben.page.keyboard.press('Enter')
      await ben.page.getByRole('heading', { name: 'Receipt: your seat is booked' }).waitFor()
      await shot(ann, '4-receipt')
      await shot(ben, '4-receipt')
      expect(await seriousViolations(ann.page)).toEqual([])

      // What the database says: seats 5 and 6 sold, to Ann and Ben, each paid once.
      const sold = await db.sql`select user_id, seat_number, status from reservations where concert_id = ${concertId} order by seat_number`
      expect(sold.map((r: any) => [r.user_id, r.seat_number, r.status])).toEqual([
        [`ann-${live}`, 5, 'PAID'],
        [`ben-${live}`, 6, 'PAID'],
      ])
      expect(ann.problems).toEqual([])
      expect(ben.problems.filter((p) => !p.includes('409'))).toEqual([])

      // The page followed the line the way it was asked to.
      const routes = instance.logs.slice(logsBefore).filter((l) => l.msg === 'request').map((l) => l.route)
      if (live === 'push') expect(routes).toContain('/v1/queue/events')
      else {
        expect(routes).not.toContain('/v1/queue/events')
        expect(routes).toContain('/v1/queue/status')
      }
    } finally {
      await ann.close()
      await ben.close()
    }
  }

  test.skipIf(!haveChromium)('before the opening the page says so, with no place; at the opening it shows the drawn place and lets the person in', async () => {
    const opensAt = Date.now() + 5000
    const concertId = await concertOf('Opening soon', '2027-09-02T19:00:00Z', 10, new Date(opensAt).toISOString())
    await Bun.sleep(1200) // the instance reads the opening with its settings, once per tick
    const cara = await person('cara', 'push')
    try {
      await cara.page.goto(`${instance.url}/concerts/${concertId}`)
      await cara.page.getByLabel('Your name').fill('cara')
      await cara.page.getByRole('button', { name: 'Sign in' }).click()
      await cara.page.getByRole('button', { name: 'Join the waiting room' }).click()
      await cara.page.locator('#position', { hasText: 'not yet drawn' }).waitFor()
      expect(await cara.page.locator('#wait-note').textContent()).toContain('random place at the opening')
      expect(Date.now()).toBeLessThan(opensAt)
      await cara.page.screenshot({ path: join(shots, 'pre-queue-cara.png'), fullPage: true })
      expect(await seriousViolations(cara.page)).toEqual([])
      await cara.page.getByRole('heading', { name: "It's your turn" }).waitFor({ timeout: 10_000 })
      expect(Date.now()).toBeGreaterThanOrEqual(opensAt)
      expect(cara.problems).toEqual([])
    } finally {
      await cara.close()
    }
  }, 30_000)

  const focused = (page: Page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName)

  test.skipIf(!haveChromium)('signing in moves the focus on to the next step: the Join button on a concert page, the heading of the list on /', async () => {
    const concertId = await concertOf('Focus after signing in', '2027-09-03T19:00:00Z')
    const dee = await person('dee', 'push')
    const eli = await person('eli', 'push')
    try {
      await dee.page.goto(`${instance.url}/concerts/${concertId}`)
      await dee.page.getByLabel('Your name').fill('dee')
      await dee.page.keyboard.press('Enter')
      await dee.page.getByRole('button', { name: 'Join the waiting room' }).waitFor()
      expect(await focused(dee.page)).toBe('join')

      await eli.page.goto(instance.url)
      await eli.page.getByLabel('Your name').fill('eli')
      await eli.page.keyboard.press('Enter')
      await eli.page.getByText('Signed in as').waitFor()
      await eli.page.getByRole('link', { name: 'Focus after signing in' }).waitFor()
      expect(await eli.page.evaluate(() => document.activeElement?.textContent)).toBe('Concerts')
      expect(dee.problems).toEqual([])
      expect(eli.problems).toEqual([])
    } finally {
      await dee.close()
      await eli.close()
    }
  }, 30_000)

  test.skipIf(!haveChromium)('being admitted moves the focus to the heading of the booking once the dates are shown, not to <body>', async () => {
    const concertId = await concertOf('Focus after admission', '2027-09-04T19:00:00Z')
    const line = `/v1/admin/concerts/${concertId}/queue`
    expect((await http(instance.url, line, { method: 'PATCH', headers: { 'x-admin-key': ADMIN_KEY }, body: { paused: true } })).status).toBe(200)
    const fin = await person('fin', 'push')
    try {
      await fin.page.goto(`${instance.url}/concerts/${concertId}`)
      await fin.page.getByLabel('Your name').fill('fin')
      await fin.page.keyboard.press('Enter')
      await fin.page.getByRole('button', { name: 'Join the waiting room' }).click()
      await fin.page.locator('#position', { hasText: '1' }).waitFor()

      expect((await http(instance.url, line, { method: 'PATCH', headers: { 'x-admin-key': ADMIN_KEY }, body: { paused: false } })).status).toBe(200)

      await fin.page.getByRole('button', { name: /2027/ }).waitFor({ timeout: 10_000 })
      expect(await focused(fin.page)).toBe('booking-title')
      // The next Tab reaches the first date.
      await fin.page.keyboard.press('Tab')
      expect(await fin.page.evaluate(() => document.activeElement?.classList.contains('date'))).toBe(true)
      expect(fin.problems).toEqual([])
    } finally {
      await fin.close()
    }
  }, 30_000)

  test.skipIf(!haveChromium)('two people through the page at once, with pushed status', () => flow('push'), 90_000)
  test.skipIf(!haveChromium)('the same with pushed status off (polling with pollAfterMs)', () => flow('poll'), 90_000)
})
