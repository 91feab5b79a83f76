import { Elysia } from 'elysia'

// CORS for the browser origins in CORS_ORIGINS. Other origins get no CORS headers at all, so the browser
// keeps the answer from the page; servers and SDKs outside a browser are unaffected either way.
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Queue-Token, Idempotency-Key, X-Request-Id, If-None-Match, X-Admin-Key'
const EXPOSED_HEADERS = 'X-Request-Id, Retry-After, Location, ETag, Idempotent-Replayed, RateLimit, RateLimit-Policy, Link'
const PREFLIGHT_MAX_AGE_SECONDS = 600

export function cors(origins: readonly string[], methodsOf: (path: string) => string[]) {
  const allowed = new Set(origins)
  return new Elysia({ name: 'cors' }).onRequest(({ request, set }) => {
    const origin = request.headers.get('origin')
    if (origin === null || !allowed.has(origin)) return
    const preflight = request.method === 'OPTIONS' && request.headers.has('access-control-request-method')
    if (preflight) {
      const methods = methodsOf(new URL(request.url).pathname)
      // A preflight for a path the API does not have is answered like any unknown path.
      if (methods.length === 0) return
      return new Response(null, {
        status: 204,
        headers: {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': methods.join(', '),
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
          vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
          'x-request-id': String(set.headers['x-request-id'] ?? ''),
        },
      })
    }
    set.headers['access-control-allow-origin'] = origin
    set.headers['access-control-expose-headers'] = EXPOSED_HEADERS
    set.headers.vary = 'Origin'
  })
}
