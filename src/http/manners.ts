import { Elysia } from 'elysia'
import { compress, COMPRESS_ABOVE_BYTES, perRequestEncoding } from './shared-answer'

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
      // Left to Elysia unless it is to be compressed: a Response made here is copied by Elysia into
      // another one with the headers merged, which costs more than serialising a small answer twice.
      const accepts = request.headers.get('accept-encoding')
      if (accepts === null) return
      const text = JSON.stringify(responseValue)
      if (text.length <= COMPRESS_ABOVE_BYTES) return
      const encoding = perRequestEncoding(accepts)
      if (encoding === null) return
      const status = typeof set.status === 'number' ? set.status : 200
      set.headers['content-type'] = 'application/json;charset=utf-8' // as Elysia types an answer it sends as it is
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

