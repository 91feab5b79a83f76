import { Elysia } from 'elysia'
import { swagger } from '@elysiajs/swagger'
import type { Config } from './config'
import type { Sql } from './db/client'
import { cors } from './http/cors'
import { docsPage } from './http/docs'
import { httpEdge } from './http/edge'
import { manners } from './http/manners'
import { methodTable } from './http/methods'
import { contractDocument } from './http/openapi/document'
import { answerShared, sharedAnswer, type SharedAnswer } from './http/shared-answer'
import { Problem } from './http/schemas'
import type { Log } from './log'
import type { Metrics } from './metrics/metrics'
import type { Exposition } from './metrics/metrics-server'
import { adminRoutes } from './admin/routes'
import { balanceRoutes } from './balance/routes'
import type { Balance } from './balance/balance'
import { catalogueRoutes } from './catalogue/routes'
import type { Catalogue } from './catalogue/catalogue'
import { healthRoutes } from './health/routes'
import { holdRoutes } from './holds/routes'
import type { SeatHolds } from './holds/seat-holds'
import { devTokenRoutes } from './identity/routes'
import type { UserTokens } from './identity/user-tokens'
import type { Users } from './identity/plugin'
import { paymentRoutes } from './payments/routes'
import type { Payments } from './payments/payments'
import { waitingRoomRoutes } from './waiting-room/routes'
import type { LineOperator } from './waiting-room/operator'
import type { WaitingRoomStore } from './waiting-room/store'
import { webRoutes } from './web/routes'
import type { WaitingRoom } from './waiting-room/waiting-room'

export interface Services {
  config: Config
  sql: Sql
  catalogue: Catalogue
  seatHolds: SeatHolds
  payments: Payments
  balance: Balance
  room: WaitingRoom
  /** The waiting room's store, for readiness. */
  store: WaitingRoomStore
  operator: LineOperator
  userTokens: UserTokens
  users: Users
  log: Log
  metrics: Metrics
  /** What a scrape of this instance answers: this process's metrics, or with WORKERS every worker's. */
  exposition: Exposition
  isShuttingDown: () => boolean
}

export const API_VERSION = '1.0.0'

const TITLE = 'Concert booking API with a virtual waiting room'

export function buildApp(s: Services) {
  const { config } = s
  // Routes are all registered before the first request; the table and the document are built then, once.
  let routes: () => readonly { method: string; path: string }[] = () => []
  let methodsOf: ((path: string) => string[]) | null = null
  const allowed = (path: string): string[] => (methodsOf ??= methodTable(routes()))(path)
  let document: SharedAnswer | null = null
  const documentAnswer = (generated: Record<string, unknown>, request: Request) => {
    document ??= sharedAnswer(JSON.stringify(contractDocument(generated)))
    return answerShared(request, document, 'no-cache')
  }
  // The edge answers every body over MAX_BODY_BYTES with a problem+json 413 before reading it; Bun's own
  // limit (a bare 413) only guards against the absurd.
  const app = new Elysia({ normalize: false, serve: { maxRequestBodySize: 1 << 30 } })
    .use(cors(config.corsOrigins, allowed))
    .use(httpEdge({ production: config.production, log: s.log, metrics: s.metrics, logRequests: config.logRequests, methodsOf: allowed, dispatch: (request): Promise<Response> => app.handle(request) }))
    .use(manners())
    .use(docsPage(TITLE, '/swagger/json'))
    .onRequest(({ set }) => {
      if (s.isShuttingDown()) set.headers.connection = 'close'
    })
    // Before the swagger plugin: a hook applies only to routes added after it.
    // Written so that Elysia takes it for synchronous: see test/http/synchronous-hooks.test.ts.
    .onAfterHandle({ as: 'global' }, ({ path, response, request }) =>
      path === '/swagger/json' ? documentAnswer(response as Record<string, unknown>, request) : undefined,
    )
    .use(
      swagger({
        path: '/swagger',
        exclude: ['/swagger', '/swagger/json'],
        documentation: {
          info: {
            title: TITLE,
            version: API_VERSION,
            description:
              'Join the waiting room of a concert, poll until ACTIVE, then list dates and seats, hold a seat and pay it from a prepaid balance. Every error is application/problem+json with a stable `code`.',
          },
          tags: [
            { name: 'waiting room', description: 'The per-concert line and its queue tokens' },
            { name: 'catalogue', description: 'Concerts, dates and seats' },
            { name: 'reservations', description: 'Seat holds' },
            { name: 'balance', description: 'Prepaid balance and its ledger' },
            { name: 'payments', description: 'Paying a hold' },
            { name: 'admin', description: 'Operator API (X-Admin-Key)' },
            { name: 'dev', description: 'Local development helpers' },
            { name: 'health', description: 'Liveness and readiness' },
          ],
          components: {
            schemas: { Problem: Problem as object },
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HS256 user token; sub = user id' },
              queueToken: { type: 'apiKey', in: 'header', name: 'X-Queue-Token', description: 'From POST /v1/queue/tokens' },
              adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key', description: 'ADMIN_API_KEY' },
            },
          },
        },
      }),
    )
    .use(healthRoutes(s.sql, s.store, config.metricsPort === null ? s.exposition : null, s.isShuttingDown))
    .use(config.authDevTokens ? devTokenRoutes(s.userTokens) : new Elysia())
    .use(waitingRoomRoutes(s.room, s.users))
    .use(catalogueRoutes(s.catalogue, s.room, s.users))
    .use(holdRoutes(s.seatHolds, s.users, config.holdTtlSeconds))
    .use(balanceRoutes(s.balance, s.users, config.maxCharge))
    .use(paymentRoutes(s.payments, s.users))
    .use(adminRoutes(s.catalogue, s.operator, config.adminApiKey, config.maxBalance))
    .use(webRoutes({ devTokens: config.authDevTokens }))
  routes = () => app.routes
  return app
}

export type App = ReturnType<typeof buildApp>
