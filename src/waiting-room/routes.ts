import { Elysia } from 'elysia'
import { Type } from '@sinclair/typebox'
import { bearer, bearerAndQueue, errors, Uuid } from '../http/schemas'
import { identity, type Users } from '../identity/plugin'
import type { WaitingRoom } from './waiting-room'

export const QueueStatus = Type.Object(
  {
    concertId: Uuid(),
    status: Type.Union(
      [Type.Literal('WAITING'), Type.Literal('ACTIVE'), Type.Literal('EXPIRED'), Type.Literal('DONE'), Type.Literal('SOLD_OUT')],
      {
      description:
        'WAITING in line; ACTIVE may browse, hold and pay; EXPIRED stopped polling or ran out of time; DONE paid; SOLD_OUT nothing left to sell. After EXPIRED or DONE, joining again gives a fresh place at the back.',
    }),
    position: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: '1 = next in line; null unless WAITING' }),
    estimatedWaitSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: 'From the measured admission pace of this line; null unless WAITING',
    }),
    activeUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'null unless ACTIVE' }),
    pollAfterMs: Type.Integer({ minimum: 0, description: 'Wait this long before the next poll' }),
  },
  { title: 'QueueStatus' },
)

const QueueJoin = Type.Composite([QueueStatus, Type.Object({ token: Type.String({ description: 'Send as X-Queue-Token' }) })], {
  title: 'QueueJoin',
})

export function waitingRoomRoutes(room: WaitingRoom, users: Users) {
  return new Elysia({ prefix: '/v1/queue' })
    .use(identity(users))
    .post(
      '/tokens',
      async ({ userId, body, set }) => {
        const { created, body: joined } = await room.join(userId, body.concertId)
        set.status = created ? 201 : 200
        return joined
      },
      {
        auth: true,
        parse: 'json',
        body: Type.Object({ concertId: Uuid() }, { additionalProperties: false }),
        response: { 200: QueueJoin, 201: QueueJoin, ...errors('UNAUTHENTICATED', 'NOT_FOUND', 'SOLD_OUT') },
        detail: {
          operationId: 'joinQueue',
          tags: ['waiting room'],
          summary: 'Join the waiting room of a concert (joining again returns the same token and place)',
          security: bearer,
        },
      },
    )
    .get('/status', async ({ userId, request }) => room.status(userId, request.headers.get('x-queue-token')), {
      auth: true,
      response: { 200: QueueStatus, ...errors('UNAUTHENTICATED', 'QUEUE_TOKEN_INVALID') },
      detail: {
        operationId: 'getQueueStatus',
        tags: ['waiting room'],
        summary: 'Position, wait estimate and state of your place; each poll keeps a waiting place alive',
        security: bearerAndQueue,
      },
    })
}
