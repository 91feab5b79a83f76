import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { gunzipSync } from 'node:zlib'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Server } from '../../src/server'
import { CONTENT_SECURITY_POLICY } from '../../src/web/routes'
import { testServer } from '../support/app'

// How the page is served: strict CSP, ETag and 304, compression, content-hashed assets kept for a
// year, a script and styles under 50 KB gzipped, nothing from another origin.
describe('the waiting-room page as served', () => {
  let server: Server
  let dataDir = ''
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cwr-page-'))
    server = await testServer({ DATA_DIR: dataDir })
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })
  const get = (path: string, headers: Record<string, string> = {}) => server.app.handle(new Request(`http://localhost${path}`, { headers }))

  test('GET / and a concert page are HTML with a strict Content-Security-Policy and only same-origin assets', async () => {
    for (const path of ['/', `/concerts/${crypto.randomUUID()}`]) {
      const reply = await get(path)
      expect(reply.status).toBe(200)
      expect(reply.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(reply.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
      expect(reply.headers.get('x-content-type-options')).toBe('nosniff')
      const html = await reply.text()
      expect(html).not.toMatch(/<script>|<style>|\sstyle="|\son\w+="/) // nothing inline the CSP would have to allow
      expect(html).not.toMatch(/https?:\/\//) // no CDN
    }
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'")
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'")
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe')
  })

  test('a malformed concert id is a 400 problem, an unknown asset a 404 problem', async () => {
    const bad = await get('/concerts/not-a-uuid')
    expect(bad.status).toBe(400)
    expect(bad.headers.get('content-type')).toStartWith('application/problem+json')
    const missing = await get('/assets/app.nothing.js')
    expect(missing.status).toBe(404)
    expect((await missing.json()).code).toBe('NOT_FOUND')
  })

  test('script and styles: content-hashed, immutable, ETag + 304, br or gzip, under 50 KB gzipped together', async () => {
    const html = await (await get('/')).text()
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!)
    expect(assets.length).toBe(2)
    let gzipped = 0
    for (const path of assets) {
      const gz = await get(path, { 'accept-encoding': 'gzip' })
      expect(gz.status).toBe(200)
      expect(gz.headers.get('content-encoding')).toBe('gzip')
      expect(gz.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(gz.headers.get('x-content-type-options')).toBe('nosniff')
      const body = new Uint8Array(await gz.arrayBuffer())
      gzipped += body.byteLength
      const plain = await get(path)
      expect(plain.headers.get('content-encoding')).toBeNull()
      expect(gunzipSync(body).toString()).toBe(await plain.text())
      expect((await get(path, { 'accept-encoding': 'gzip, deflate, br' })).headers.get('content-encoding')).toBe('br')
      // The API's negotiation (a hostile probe found the page's own ignoring weights and *):
      for (const [accept, encoding] of [['br;q=0.5, gzip;q=0.9', 'gzip'], ['*', 'br'], ['gzip;q=0, *', 'br'], ['Br;Q=0.4, GZip;Q=0.8', 'gzip']]) {
        expect([accept, (await get(path, { 'accept-encoding': accept! })).headers.get('content-encoding')]).toEqual([accept, encoding])
      }
      const etag = gz.headers.get('etag')!
      for (const match of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const again = await get(path, { 'if-none-match': match, 'accept-encoding': 'gzip' })
        expect([match, again.status, again.headers.get('x-content-type-options')]).toEqual([match, 304, 'nosniff'])
        expect(await again.text()).toBe('')
      }
      // The gzip form's tag is its own: a client that would now be sent another form is sent it.
      expect((await get(path, { 'if-none-match': etag, 'accept-encoding': 'br' })).status).toBe(200)
    }
    console.log(`page script + styles: ${gzipped} bytes gzipped`)
    expect(gzipped).toBeLessThan(50 * 1024)
  })
})
