import { Elysia } from 'elysia'
import { Type } from '@sinclair/typebox'
import type { Sql } from '../db/client'
import { statements } from '../db/statements'
import { ServiceError } from '../errors'
import { errors } from '../http/schemas'
import { compress, COMPRESS_ABOVE_BYTES, perRequestEncoding } from '../http/shared-answer'
import type { Metrics } from '../metrics/metrics'
import type { WaitingRoomStore } from '../waiting-room/store'

const q = statements('setup', ['ping'])
const PROBE_TIMEOUT_MS = 1500

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))])
}

async function up(probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await within(PROBE_TIMEOUT_MS, probe())
    return true
  } catch {
    return false
  }
}

/**
 * The Prometheus scrape answer of this instance, compressed when the scraper accepts it (Prometheus
 * sends Accept-Encoding: gzip; the text is tens of KB).
 */
export async function scrape(metrics: Metrics, request: Request): Promise<Response> {
  const text = await metrics.registry.metrics()
  const headers: Record<string, string> = { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store', vary: 'Accept-Encoding' }
  const encoding = text.length > COMPRESS_ABOVE_BYTES ? perRequestEncoding(request.headers.get('accept-encoding')) : null
  if (encoding === null) return new Response(text, { headers })
  return new Response(compress(new TextEncoder().encode(text), encoding), { headers: { ...headers, 'content-encoding': encoding } })
}

// With METRICS_PORT set, /metrics is served on that port only (src/server.ts) and not here.
export function healthRoutes(sql: Sql, store: WaitingRoomStore, metrics: Metrics, isShuttingDown: () => boolean, metricsHere = true) {
  return new Elysia()
    .use(metricsHere ? metricsRoute(metrics) : new Elysia())
    .get('/health', () => ({ status: 'ok' as const }), {
      response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      detail: { operationId: 'health', tags: ['health'], summary: 'The process is alive', security: [] },
    })
    .get(
      '/ready',
      async () => {
        if (isShuttingDown()) throw new ServiceError('SERVICE_UNAVAILABLE', 'Shutting down', { retryAfterSeconds: 1 })
        const [database, queue] = await Promise.all([up(() => q.ping(sql)), up(() => store.ping())])
        if (!database || !queue) {
          const down = [!database && 'database', !queue && `queue store (${store.kind})`].filter(Boolean).join(' and ')
          throw new ServiceError('SERVICE_UNAVAILABLE', `Not ready: ${down} unreachable`, { retryAfterSeconds: 2 })
        }
        return { status: 'ready' as const, database: 'up' as const, queueStore: store.kind }
      },
      {
        response: {
          200: Type.Object({ status: Type.Literal('ready'), database: Type.Literal('up'), queueStore: Type.String() }),
          ...errors(),
        },
        detail: { operationId: 'ready', tags: ['health'], summary: 'Database and queue store reachable (else 503)', security: [] },
      },
    )
}

function metricsRoute(metrics: Metrics) {
  return new Elysia().get('/metrics', ({ request }) => scrape(metrics, request), {
    detail: {
      operationId: 'metrics',
      tags: ['health'],
      summary: 'Prometheus metrics of this instance (keep it off the public internet, or set METRICS_PORT)',
      security: [],
      responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  })
}
