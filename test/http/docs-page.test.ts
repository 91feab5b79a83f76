import { afterAll, beforeAll, expect, test } from 'bun:test'
import { chromium, type Browser } from 'playwright-core'
import { loadConfig } from '../../src/config'
import { silentLog } from '../../src/log'
import { startServer, type Server } from '../../src/server'
import { ADMIN_KEY, TEST_SECRET } from '../support/app'
import { createTestDatabase, type TestDatabase } from '../support/database'
import { describeWithPrograms, serviceUrl } from '../support/services'

// The docs page in a real browser with no network but the app itself: every request elsewhere is refused
// and counted. Chromium is the Debian package (.ci/run installs it).
const CHROMIUM = '/usr/bin/chromium'

describeWithPrograms([CHROMIUM], ['DATABASE_URL'], 'the docs page', () => {
  let db: TestDatabase
  let server: Server
  let browser: Browser
  let base: string
  let operations: number
  beforeAll(async () => {
    db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
    const config = loadConfig({ DATABASE_URL: db.url, AUTH_JWT_SECRET: TEST_SECRET, ADMIN_API_KEY: ADMIN_KEY, AUTH_DEV_TOKENS: 'true', PORT: '0' })
    server = await startServer(config, { log: silentLog, runJobs: false })
    base = `http://127.0.0.1:${server.port}`
    const doc = await (await fetch(`${base}/swagger/json`)).json()
    operations = Object.values(doc.paths as Record<string, object>).reduce((n, item) => n + Object.keys(item).length, 0)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await db?.drop()
  })

  for (const path of ['/swagger', '/swagger/']) {
    test(`${path} renders every operation from the app's own assets, with no other network`, async () => {
      const page = await browser.newPage()
      const elsewhere: string[] = []
      await page.route('**/*', (route) => {
        const url = route.request().url()
        if (url.startsWith(`${base}/`)) return route.continue()
        elsewhere.push(url)
        return route.abort()
      })
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(String(e)))
      await page.goto(`${base}${path}`)
      await page.waitForSelector('.opblock', { timeout: 20_000 })
      const listed = await page.locator('.opblock').count()
      const paths = await page.locator('.opblock-summary-path').allTextContents()
      await page.close()
      expect(listed).toBe(operations)
      expect(paths.map((p) => p.replace(/\u200b/g, ''))).toEqual(expect.arrayContaining(['/v1/reservations', '/v1/queue/tokens', '/v1/payments']))
      expect(elsewhere).toEqual([])
      expect(errors).toEqual([])
    }, 60_000)
  }

  test('its assets come from the pinned package, versioned, cached for a year and compressed once', async () => {
    const html = await (await fetch(`${base}/swagger`)).text()
    const script = /src="([^"]+swagger-ui-bundle\.js)"/.exec(html)![1]!
    const pinned = (await import('swagger-ui-dist/package.json')).version
    expect(script).toBe(`/swagger/assets/${pinned}/swagger-ui-bundle.js`)
    const { dependencies } = await import('../../package.json')
    expect(dependencies['swagger-ui-dist']).toBe(pinned) // exact, not a range
    const asset = await fetch(`${base}${script}`, { headers: { 'accept-encoding': 'br' } })
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(asset.headers.get('content-encoding')).toBe('br')
    const again = await fetch(`${base}${script}`, { headers: { 'if-none-match': asset.headers.get('etag')! } })
    expect(again.status).toBe(304)
    // Only the two files the page needs are served from the package, nothing else of it.
    expect((await fetch(`${base}/swagger/assets/${pinned}/package.json`)).status).toBe(404)
    expect((await fetch(`${base}/swagger/assets/${pinned}/%2e%2e/%2e%2e/package.json`)).status).toBe(404)
  })
})
