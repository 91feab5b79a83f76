import { promisify } from 'node:util'
import { brotliCompress, brotliCompressSync, constants, gzip } from 'node:zlib'

// An answer many clients read unchanged (a seat map during an on-sale, the docs page's scripts): its
// bytes, its strong ETag and its compressed variants are made once and reused by every request until
// the owner builds a new one. Compressing per request would cost more than the query behind it.
export const COMPRESS_ABOVE_BYTES = 1024
/** Compressing more than this takes milliseconds (a big seat map: ~10 ms): done on a worker thread. */
const IN_BACKGROUND_ABOVE_BYTES = 256 * 1024

export type Encoding = 'br' | 'gzip'
export type Bytes = Uint8Array<ArrayBuffer>

export interface SharedAnswer {
  readonly contentType: string
  /** Strong: the same bytes give the same tag on every instance. The tag of the body as it is. */
  readonly etag: string
  /**
   * The tag of the body in `encoding` (null: as it is). Each content coding is a representation of its
   * own with a tag of its own (RFC 9110 8.8.3.3): `"<tag>-br"`, `"<tag>-gzip"`.
   */
  etagOf(encoding: Encoding | null): string
  /** Bytes of the body as it is. */
  readonly size: number
  /**
   * The body as it is. A Blob, and so are the compressed forms: a Response made of a Blob sends the Blob's
   * bytes as they are, where one made of a Uint8Array copies them first (a 6 MB map: ~0.9 ms and 6 MB
   * more for each reader being sent it). So each form is in memory once, however many read it.
   */
  readonly plain: Blob
  /** The body in `encoding`, compressed on first use and kept (a big body is compressed off the event loop). */
  encoded(encoding: Encoding): Blob | Promise<Blob>
  /**
   * Bytes this answer keeps: its plain form and the compressed forms made so far. Not the bytes of a big
   * body with `redraw`, held only until it is compressed.
   */
  readonly kept: number
}

// Brotli quality 2 and gzip level 3: on a 100,000-seat map (5-6 MB of JSON) brotli 2 takes about a tenth
// of the time of quality 5 for a result within ~10% of its size (86-152 KB against 96-138 KB), gzip 3 about
// half the time of level 6 for the same size. A map that changes is compressed again once per cache window.
// A window of 256 KB (lgwin 18) instead of brotli's 4 MB: the same size and time on such a map, and each
// compression running at once takes ~6 MB less (six at once: +19 MB of RSS at its peak against +53 MB).
const BROTLI = { params: { [constants.BROTLI_PARAM_QUALITY]: 2, [constants.BROTLI_PARAM_LGWIN]: 18 } }
const GZIP_LEVEL = 3
const brotliInBackground = promisify(brotliCompress)
const gzipInBackground = promisify(gzip)

export function compress(body: Bytes, encoding: Encoding): Bytes {
  if (encoding === 'br') return new Uint8Array(brotliCompressSync(body, BROTLI))
  return Bun.gzipSync(body, { level: GZIP_LEVEL }) as Bytes
}

async function compressInBackground(body: Bytes, encoding: Encoding): Promise<Bytes> {
  const out = encoding === 'br' ? await brotliInBackground(body, BROTLI) : await gzipInBackground(body, { level: GZIP_LEVEL })
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength) as Bytes
}

/**
 * An answer of `content`. With `redraw` (a function that makes the same bytes again), a big body is not
 * kept once a compressed form of it is made: nearly every reader of a big seat map takes br or gzip, and
 * a 100,000-seat map is ~5 MB as it is against ~0.2 MB compressed. A reader who takes it as it is, or in
 * the other encoding, has it drawn again (milliseconds), and the plain form is kept from then on.
 * `compressed` gives forms made ahead of time (the page's assets, compressed harder once at start).
 */
export function sharedAnswer(
  content: string | Bytes,
  { contentType = 'application/json', redraw, compressed = {} }: { contentType?: string; redraw?: () => Bytes; compressed?: Partial<Record<Encoding, Bytes>> } = {},
): SharedAnswer {
  const bytes = (typeof content === 'string' ? new TextEncoder().encode(content) : content) as Bytes
  const big = bytes.byteLength > IN_BACKGROUND_ABOVE_BYTES
  // A small body keeps a copy of its bytes (they may be a view into a larger buffer) to compress on the
  // spot; a big one reads them back from its plain form when it is first compressed, so only one copy stays,
  // or with `redraw` holds them until they are compressed, and has them drawn again after.
  const small = big ? null : bytes.slice()
  let held: Bytes | null = big && redraw ? bytes : null
  let plain: Blob | null = held ? null : new Blob([bytes])
  let compressing = 0
  const source = (): Bytes | Promise<Bytes> => held ?? (plain ? (plain.bytes() as Promise<Bytes>) : redraw!())
  // The answer owns bytes given with `redraw`: once compressed they are freed at once (a detached buffer's
  // memory is returned now, not at the next garbage collection, which under a map that changes every
  // window came too late: 5 MB a form a window).
  const release = () => {
    if (compressing > 0 || !held) return
    if (held.byteOffset === 0 && held.byteLength === held.buffer.byteLength) held.buffer.transfer(0) // not a view into another's buffer
    held = null
  }
  const variants: Partial<Record<Encoding, Blob | Promise<Blob>>> = {}
  for (const [encoding, body] of Object.entries(compressed)) variants[encoding as Encoding] = new Blob([body])
  const variantBytes = () => Object.values(variants).reduce((n, v) => n + (v instanceof Blob ? v.size : 0), 0)
  const tag = `${Bun.hash(bytes).toString(36)}-${bytes.byteLength.toString(36)}`
  const etags = { identity: `"${tag}"`, br: `"${tag}-br"`, gzip: `"${tag}-gzip"` }
  return {
    contentType,
    etag: etags.identity,
    etagOf: (encoding) => etags[encoding ?? 'identity'],
    size: bytes.byteLength,
    get plain() {
      if (!plain) {
        plain = new Blob([held ?? redraw!()])
        release()
      }
      return plain
    },
    get kept() {
      return (plain?.size ?? 0) + (small?.byteLength ?? 0) + variantBytes()
    },
    encoded(encoding) {
      const known = variants[encoding]
      if (known) return known
      if (small) return (variants[encoding] = new Blob([compress(small, encoding)]))
      const body = source() // now, while the bytes are held
      compressing++
      const pending = (async () => {
        try {
          const blob = new Blob([await compressInBackground(await body, encoding)])
          variants[encoding] = blob
          return blob
        } catch (error) {
          delete variants[encoding] // the next reader tries again
          throw error
        } finally {
          compressing--
          release()
        }
      })()
      variants[encoding] = pending
      return pending
    },
  }
}

/**
 * The encoding for an answer made anew for each request: gzip first, the cheaper of the two to make
 * (a shared answer, compressed once, takes br first: chooseEncoding).
 */
export function perRequestEncoding(acceptEncoding: string | null): Encoding | null {
  return chooseEncoding(acceptEncoding, ['gzip', 'br'])
}

/** A qvalue as RFC 9110 12.4.2 writes it (0 to 1, three decimals at most); anything else is not one. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/**
 * The encoding to send for an Accept-Encoding header, or null for identity: the one the client weighs
 * highest, `first` first among equals (br, then gzip), or none where the client names identity with a
 * higher weight than both. A malformed weight accepts nothing.
 */
export function chooseEncoding(acceptEncoding: string | null, first: Encoding[] = ['br', 'gzip']): Encoding | null {
  if (!acceptEncoding) return null
  const accepted = new Map<string, number>()
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2)
    accepted.set(name!.trim(), q === undefined ? 1 : QVALUE.test(q) ? Number(q) : 0)
  }
  const weightOf = (e: string) => accepted.get(e) ?? (accepted.has('*') ? accepted.get('*')! : 0)
  let best: Encoding | null = null
  for (const encoding of first) if (weightOf(encoding) > 0 && (best === null || weightOf(encoding) > weightOf(best))) best = encoding
  if (best !== null && accepted.has('identity') && accepted.get('identity')! > weightOf(best)) return null
  return best
}

/** If-None-Match names this tag (weak comparison, RFC 9110 13.1.2), or is `*`. */
export function stillCurrent(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t.replace(/^W\//, '') === etag
  })
}

/**
 * 304 when the client has the representation it would be sent (the body in the encoding chosen for it),
 * else that representation: the body, compressed when it is worth it and the client accepts.
 */
export function answerShared(
  request: Request,
  shared: SharedAnswer,
  cacheControl: string,
  extra: Record<string, string> = {},
): Response | Promise<Response> {
  const encoding = shared.size > COMPRESS_ABOVE_BYTES ? chooseEncoding(request.headers.get('accept-encoding')) : null
  const etag = shared.etagOf(encoding)
  // Vary on Origin too: with CORS_ORIGINS the same bytes carry a different Access-Control-Allow-Origin.
  const headers: Record<string, string> = { etag, 'cache-control': cacheControl, vary: 'Accept-Encoding, Origin', ...extra }
  if (stillCurrent(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers })
  headers['content-type'] = shared.contentType
  if (encoding === null) return new Response(shared.plain, { headers })
  headers['content-encoding'] = encoding
  const encoded = shared.encoded(encoding)
  return encoded instanceof Promise ? encoded.then((blob) => new Response(blob, { headers })) : new Response(encoded, { headers })
}
