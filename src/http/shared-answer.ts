import { brotliCompressSync, constants } from 'node:zlib'

// An answer many clients read unchanged (a seat map during an on-sale, the docs page's scripts): its
// bytes, its strong ETag and its compressed variants are made once and reused by every request until
// the owner builds a new one. Compressing per request would cost more than the query behind it.
export const COMPRESS_ABOVE_BYTES = 1024

export type Encoding = 'br' | 'gzip'
type Bytes = Uint8Array<ArrayBuffer>

export interface SharedAnswer {
  readonly body: Bytes
  readonly contentType: string
  /** Strong: the same bytes give the same tag on every instance. */
  readonly etag: string
  /** The body in `encoding`, compressed on first use and kept. */
  encoded(encoding: Encoding): Bytes
}

export function compress(body: Bytes, encoding: Encoding): Bytes {
  // Quality 5 / level 6: within a few percent of the best ratio for JSON at a fraction of the time,
  // which matters for a 100,000-seat map rebuilt every cache window.
  if (encoding === 'br') return new Uint8Array(brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }))
  return Bun.gzipSync(body, { level: 6 }) as Bytes
}

export function sharedAnswer(content: string | Bytes, contentType = 'application/json'): SharedAnswer {
  const body = (typeof content === 'string' ? new TextEncoder().encode(content) : content) as Bytes
  const variants: Partial<Record<Encoding, Bytes>> = {}
  return {
    body,
    contentType,
    etag: `"${Bun.hash(body).toString(36)}-${body.byteLength.toString(36)}"`,
    encoded: (encoding) => (variants[encoding] ??= compress(body, encoding)),
  }
}

/** The encoding to send for an Accept-Encoding header (br first), or null for identity. */
export function chooseEncoding(acceptEncoding: string | null): Encoding | null {
  if (!acceptEncoding) return null
  const accepted = new Map<string, number>()
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const weight = q === undefined ? 1 : Number(q.slice(2))
    accepted.set(name!, Number.isFinite(weight) ? weight : 0)
  }
  const weightOf = (e: string) => accepted.get(e) ?? (accepted.has('*') ? accepted.get('*')! : 0)
  if (weightOf('br') > 0) return 'br'
  if (weightOf('gzip') > 0) return 'gzip'
  return null
}

/** If-None-Match names this tag (weak comparison, RFC 9110 13.1.2), or is `*`. */
export function stillCurrent(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t.replace(/^W\//, '') === etag
  })
}

/** 304 when the client has it, else the body, compressed when it is worth it and the client accepts. */
export function answerShared(request: Request, shared: SharedAnswer, cacheControl: string, extra: Record<string, string> = {}): Response {
  // Vary on Origin too: with CORS_ORIGINS the same bytes carry a different Access-Control-Allow-Origin.
  const headers: Record<string, string> = { etag: shared.etag, 'cache-control': cacheControl, vary: 'Accept-Encoding, Origin', ...extra }
  if (stillCurrent(request.headers.get('if-none-match'), shared.etag)) return new Response(null, { status: 304, headers })
  headers['content-type'] = shared.contentType
  const encoding = shared.body.byteLength > COMPRESS_ABOVE_BYTES ? chooseEncoding(request.headers.get('accept-encoding')) : null
  if (encoding === null) return new Response(shared.body, { headers })
  headers['content-encoding'] = encoding
  return new Response(shared.encoded(encoding), { headers })
}
