import { Elysia } from 'elysia'
import { Type } from '@sinclair/typebox'
import type { Sql } from '../db/client'
import { within } from '../deadline'
import { statements } from '../db/statements'
import { ServiceError } from '../errors'
import { errors } from '../http/schemas'
import { scrape, type Exposition } from '../metrics/metrics-server'
import type { WaitingRoomStore } from '../waiting-room/store'

const q = statements('setup', ['ping'])
const PROBE_TIMEOUT_MS = 1500

async function up(probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await within(probe(), PROBE_TIMEOUT_MS, () => new Error('timeout'))
    return true
  } catch {
    return false
  }
}

// With METRICS_PORT set, /metrics is served on that port only (src/server.ts, src/workers.ts) and not here:
// `exposition` is then null.
export function healthRoutes(sql: Sql, store: WaitingRoomStore, exposition: Exposition | null, isShuttingDown: () => boolean) {
  return new Elysia()
    .use(exposition ? metricsRoute(exposition) : new Elysia())
    .get('/health', () => ({ status: 'ok' as const }), {
      // The edge's refusals (a Host that is not one, a body too big or not JSON) reach every route.
      response: { 200: Type.Object({ status: Type.Literal('ok') }), ...errors() },
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

function metricsRoute(exposition: Exposition) {
  // Its success is text, so its responses are written out here; the edge's refusals reach it as every route.
  const problems = Object.fromEntries(
    Object.entries(errors()).map(([status, schema]) => [status, { description: 'Problem', content: { 'application/json': { schema } } }]),
  )
  return new Elysia().get('/metrics', ({ request }) => scrape(exposition, request), {
    detail: {
      operationId: 'metrics',
      tags: ['health'],
      summary: 'Prometheus metrics of this instance (keep it off the public internet, or set METRICS_PORT)',
      security: [],
      responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...problems },
    },
  })
}
