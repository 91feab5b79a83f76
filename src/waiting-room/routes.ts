import { Elysia } from 'elysia'
import { bearer, bearerAndQueue, errors } from '../http/schemas'
import { identity, type Users } from '../identity/plugin'
import { JoinRequest, QueueJoin, QueueStatus } from './model'
import type { WaitingRoom } from './waiting-room'

export function waitingRoomRoutes(room: WaitingRoom, users: Users) {
  return new Elysia({ prefix: '/v1/queue' })
    .use(identity(users))
    .post(
      '/tokens',
      async ({ userId, body, set }) => {
        const { created, body: joined } = await room.join(userId, body.concertId)
        set.status = created ? 201 : 200
        // The place just made is read (and kept alive) at the status route, with the token below.
        if (created) set.headers.location = '/v1/queue/status'
        return joined
      },
      {
        auth: true,
        parse: 'json',
        body: JoinRequest,
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
