import client from 'prom-client'
import type { Log } from '../log'
import { compress, COMPRESS_ABOVE_BYTES, perRequestEncoding } from '../http/shared-answer'

/** The Prometheus text an instance exposes: its process's registry, or with WORKERS every worker's. */
export type Exposition = () => Promise<string>

/**
 * The answer to a scrape, compressed when the scraper accepts it (Prometheus sends Accept-Encoding: gzip;
 * the text is tens of KB).
 */
export async function scrape(exposition: Exposition, request: Request): Promise<Response> {
  const text = await exposition()
  const headers: Record<string, string> = { 'content-type': client.Registry.PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store', vary: 'Accept-Encoding' }
  const encoding = text.length > COMPRESS_ABOVE_BYTES ? perRequestEncoding(request.headers.get('accept-encoding')) : null
  if (encoding === null) return new Response(text, { headers })
  return new Response(compress(new TextEncoder().encode(text), encoding), { headers: { ...headers, 'content-encoding': encoding } })
}

/**
 * METRICS_PORT: the scrape endpoint on a port of its own (kept off the public API port), nothing else there.
 * It says where it listens: METRICS_PORT=0 takes a free port, as PORT=0 does.
 */
export function metricsServer(port: number, exposition: Exposition, log: Log) {
  const server = Bun.serve({
    port,
    hostname: '0.0.0.0',
    fetch: (request) => {
      if (new URL(request.url).pathname !== '/metrics') return new Response('Only /metrics is served on this port\n', { status: 404, headers: { 'content-type': 'text/plain' } })
      if (request.method === 'GET' || request.method === 'HEAD') return scrape(exposition, request)
      // As the API port answers a known path asked with another method (RFC 9110).
      return new Response('GET or HEAD\n', { status: 405, headers: { 'content-type': 'text/plain', allow: 'GET, HEAD' } })
    },
  })
  log({ level: 'info', msg: 'metrics listening', url: `http://localhost:${server.port}/metrics` })
  return server
}
