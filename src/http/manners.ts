import { Elysia } from 'elysia'
import { chooseEncoding, compress, COMPRESS_ABOVE_BYTES } from './shared-answer'

// Defaults every answer gets unless its route says otherwise: nothing is cacheable (tokens, queue
// status, balances are per user and change), and JSON over 1 KiB is compressed for clients that accept
// it. Shared answers (seat maps) bring their own compressed bytes and are left alone here.
export function manners() {
  return new Elysia({ name: 'http-manners' })
    .onRequest(({ set }) => {
      set.headers['cache-control'] = 'no-store'
    })
    .mapResponse({ as: 'global' }, ({ responseValue, request, set }) => {
      if (!isJson(responseValue)) return
      // Serialised once, here: what goes out uncompressed is the text just made. Most answers (a poll, a
      // hold) are far below the threshold, and only for a big one is the client's Accept-Encoding read.
      const text = JSON.stringify(responseValue)
      const status = typeof set.status === 'number' ? set.status : 200
      set.headers['content-type'] = 'application/json'
      if (text.length <= COMPRESS_ABOVE_BYTES) return new Response(text, { status })
      // Per-request answers differ each time: gzip is the cheaper of the two to make, so it goes first here.
      const accepts = request.headers.get('accept-encoding')
      const encoding = chooseEncoding(accepts?.replace(/\bbr\b/gi, 'x-br') ?? null) ?? chooseEncoding(accepts)
      if (encoding === null) return new Response(text, { status })
      set.headers['content-encoding'] = encoding
      set.headers.vary = set.headers.vary ? `${set.headers.vary}, Accept-Encoding` : 'Accept-Encoding'
      return new Response(compress(new TextEncoder().encode(text), encoding), { status })
    })
}

/** A plain object or array the route returned for Elysia to serialise (not bytes, streams or generators). */
function isJson(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false
  if (Array.isArray(value)) return true
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

