import { Elysia } from 'elysia'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { answerShared, sharedAnswer, type SharedAnswer } from './shared-answer'

// The docs page: Swagger UI from the swagger-ui-dist package (pinned exactly in package.json), served by
// the app itself, so it works with no internet and shows exactly the version we tested. Its scripts are
// large and never change for a version: read, tagged and compressed once, cached for a year by URL.
const dist = dirname(require.resolve('swagger-ui-dist/package.json'))
const version: string = JSON.parse(readFileSync(join(dist, 'package.json'), 'utf8')).version
const ASSETS = `/swagger/assets/${version}`
const files: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export function docsPage(title: string, documentPath: string) {
  const assets = new Map<string, SharedAnswer>()
  const asset = (file: string) => {
    let shared = assets.get(file)
    if (!shared) assets.set(file, (shared = sharedAnswer(readFileSync(join(dist, file)), { contentType: files[file] })))
    return shared
  }
  // The document URL is absolute, so /swagger and /swagger/ both find it.
  const page = sharedAnswer(
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"></main>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: ${JSON.stringify(documentPath)}, dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null })
</script>
</body>
</html>
`,
    { contentType: 'text/html; charset=utf-8' },
  )
  const docsAnswer = (pathname: string, request: Request) => {
    if (pathname === '/swagger' || pathname === '/swagger/') return answerShared(request, page, 'no-cache')
    if (!pathname.startsWith(`${ASSETS}/`)) return undefined
    const file = pathname.slice(ASSETS.length + 1)
    return file in files ? answerShared(request, asset(file), 'public, max-age=31536000, immutable') : undefined
  }
  return new Elysia({ name: 'docs-page' })
    // Ahead of routing: @elysiajs/swagger registers its own page (which loads scripts from a CDN) at /swagger.
    // Written so that Elysia takes it for synchronous: see test/http/synchronous-hooks.test.ts.
    .onRequest(function docsPageHook({ request }) {
      // Every request passes here: most are not for the docs, and are let through before any URL parsing.
      if (!request.url.includes('/swagger') || (request.method !== 'GET' && request.method !== 'HEAD')) return
      const answer = docsAnswer(new URL(request.url).pathname, request)
      if (answer) return answer
    })
}
