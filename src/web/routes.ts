import { Elysia, t } from 'elysia'
import { Uuid } from '../http/schemas'
import { ServiceError } from '../errors'
import { compressedText, pageAssets, type Asset } from './assets'
import { answerShared } from '../http/shared-answer'

// The waiting-room page people use (GET / and GET /concerts/{id}): one HTML shell and one script that
// drives the public API from the browser. Nothing is loaded from elsewhere, so the Content-Security-Policy
// can allow this origin only: no inline script or style, no other host, no framing.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const securityHeaders = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

// A script or stylesheet is taken only as the type it is sent with.
const ASSET_HEADERS = { 'x-content-type-options': 'nosniff' }

function shell(script: Asset, styles: Asset, devTokens: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="dev-tokens" content="${devTokens ? 'on' : 'off'}">
<title>Concert tickets</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${styles.path}">
<script type="module" src="${script.path}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/">Concert tickets</a><div id="account"></div></header>
<main id="main" tabindex="-1"><p>Loading…</p></main>
<noscript><p>This page needs JavaScript. The API is documented at <a href="/swagger">/swagger</a>.</p></noscript>
</body>
</html>
`
}

export function webRoutes(options: { devTokens: boolean }) {
  let loading: Promise<{ page: Asset; byPath: Map<string, Asset> }> | null = null
  const load = () =>
    (loading ??= pageAssets().then(({ script, styles }) => ({
      page: compressedText('text/html; charset=utf-8', shell(script, styles, options.devTokens)),
      byPath: new Map([script, styles].map((a) => [a.path, a])),
    })))
  // Built while the instance starts, not on the first visitor's request.
  load().catch(() => {})

  // The API's rules for an answer many read (shared-answer.ts): If-None-Match by weak comparison or *,
  // the encoding weighed highest.
  const htmlAnswer = async ({ request }: { request: Request }) => answerShared(request, (await load()).page.answer, 'no-cache', securityHeaders)

  return new Elysia({ name: 'web' })
    .get('/', htmlAnswer, { detail: { hide: true } })
    .get('/concerts/:concertId', htmlAnswer, { params: t.Object({ concertId: Uuid() }), detail: { hide: true } })
    .get(
      '/assets/:name',
      async ({ request, params }) => {
        const asset = (await load()).byPath.get(`/assets/${params.name}`)
        if (!asset) throw new ServiceError('NOT_FOUND', 'No such asset')
        // Named by content: a new build is a new name, so the old one may be kept forever.
        return answerShared(request, asset.answer, 'public, max-age=31536000, immutable', ASSET_HEADERS)
      },
      { params: t.Object({ name: t.String({ maxLength: 100 }) }), detail: { hide: true } },
    )
}
