import { Elysia } from 'elysia'

// CORS for the browser origins in CORS_ORIGINS. Other origins get no CORS headers at all, so the browser
// keeps the answer from the page; servers and SDKs outside a browser are unaffected either way.
// This runs first and only sets headers, so every answer carries them, the edge's early 413 and 415
// included (a page must be able to read why it was refused). A preflight is an OPTIONS request, which
// the edge answers 204 with Allow on a known path and 404 elsewhere. Last-Event-ID is what a browser's
// EventSource sends when it reconnects to the status stream (its events carry ids); a browser that does not
// count it as a simple header asks first, and must not be refused.
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Queue-Token, Idempotency-Key, X-Request-Id, If-None-Match, X-Admin-Key, Last-Event-ID'
const EXPOSED_HEADERS = 'X-Request-Id, Retry-After, Location, ETag, Idempotent-Replayed, RateLimit, RateLimit-Policy, Link'
const PREFLIGHT_MAX_AGE_SECONDS = 600

export function cors(origins: readonly string[], methodsOf: (path: string) => string[]) {
  const allowed = new Set(origins)
  return new Elysia({ name: 'cors' }).onRequest(({ request, set }) => {
    if (allowed.size === 0) return // no browser origin configured: not even the header is read
    const origin = request.headers.get('origin')
    if (origin === null || !allowed.has(origin)) return
    set.headers['access-control-allow-origin'] = origin
    set.headers.vary = 'Origin'
    if (request.method === 'OPTIONS' && request.headers.has('access-control-request-method')) {
      const methods = methodsOf(new URL(request.url).pathname)
      if (methods.length === 0) return
      set.headers['access-control-allow-methods'] = methods.join(', ')
      set.headers['access-control-allow-headers'] = ALLOWED_HEADERS
      set.headers['access-control-max-age'] = String(PREFLIGHT_MAX_AGE_SECONDS)
      set.headers.vary = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'
    } else {
      set.headers['access-control-expose-headers'] = EXPOSED_HEADERS
    }
  })
}
