import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { sharedAnswer, type SharedAnswer } from '../http/shared-answer'

// The page's script and styles: TypeScript in src/web/client built by Bun's bundler when the process
// first serves the page (once per process, in memory), compressed once, named by their content hash so
// that browsers may keep them for a year.
export interface Asset {
  path: string
  answer: SharedAnswer
}

/** A text body with its compressed forms, made once; `path` of an asset includes its content hash. */
export function compressedText(contentType: string, text: string, pathOf: (hash: string) => string = () => ''): Asset {
  const body = new TextEncoder().encode(text)
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16)
  // Made once per process, so compressed as hard as the formats go (a shared answer made per cache
  // period uses cheaper levels).
  const compressed = {
    gzip: new Uint8Array(gzipSync(body, { level: 9 })),
    br: new Uint8Array(brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })),
  }
  return { path: pathOf(hash), answer: sharedAnswer(body, { contentType, compressed }) }
}

const clientDir = join(import.meta.dir, 'client')

async function build(): Promise<{ script: Asset; styles: Asset }> {
  const result = await Bun.build({ entrypoints: [join(clientDir, 'main.ts')], target: 'browser', minify: true, format: 'esm' })
  if (!result.success || !result.outputs[0]) throw new Error(`building the page failed: ${result.logs.map(String).join('\n')}`)
  const script = await result.outputs[0].text()
  // The styles are small and hand-written: comments and indentation are all there is to strip.
  const css = readFileSync(join(clientDir, 'styles.css'), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s*\n\s*/g, '')
  return {
    script: compressedText('text/javascript; charset=utf-8', script, (hash) => `/assets/app.${hash}.js`),
    styles: compressedText('text/css; charset=utf-8', css, (hash) => `/assets/app.${hash}.css`),
  }
}

let built: ReturnType<typeof build> | null = null

/** The built assets of this process (built on first use). */
export function pageAssets() {
  built ??= build()
  return built
}
