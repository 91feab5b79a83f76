import { Elysia, t } from 'elysia'
import { Type } from '@sinclair/typebox'
import { bearer, bearerAndQueue, errors } from '../http/schemas'
import { identity, spendBudget, type Users } from '../identity/plugin'
import { JoinRequest, QueueJoin, QueueStatus } from './model'
import type { WaitingRoom } from './waiting-room'
import { ENDED_EVENT_ID } from './status-push'
import { jsonBody } from '../http/json-body'

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
        parse: jsonBody,
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
    // EventSource cannot send headers: the queue token in the query string is the whole credential. The
    // request log names the route, never the URL, so the token is not written anywhere.
    .get(
      '/events',
      async ({ query, request, server, set }) => {
        // Opening a stream spends one request of the user's budget, so reconnect storms are bounded. A
        // client that heard the stream's end is answered 204, which tells EventSource to stop (status-push.ts).
        const heardEnd = request.headers.get('last-event-id') === ENDED_EVENT_ID
        const watching = await room.watch(query.token, (ticket) => spendBudget(users.limiter, ticket.userId, set), heardEnd)
        if (watching === null) return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } })
        const { stream } = watching
        // The stream is quiet between changes for up to a heartbeat; Bun's idle timeout must not cut it.
        server?.timeout(request, 0)
        return new Response(stream, {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-store',
            // Proxies such as nginx would otherwise hold events back in their buffers.
            'x-accel-buffering': 'no',
          },
        })
      },
      {
        query: t.Object({ token: t.Optional(t.String({ maxLength: 1024, description: 'The queue token from POST /v1/queue/tokens' })) }),
        headers: t.Object({
          'last-event-id': t.Optional(
            t.String({ description: 'Sent by EventSource when it reconnects: the id of the last event it had. `end`, the id of a terminal status, is answered 204' }),
          ),
        }),
        response: {
          200: Type.String({
            contentMediaType: 'text/event-stream',
            description: 'Events `status` with `data: <QueueStatus as JSON>`, and `: heartbeat` comments',
          }),
          204: Type.Void({ description: 'The client heard this place\'s stream end (Last-Event-ID: end): EventSource stops reconnecting' }),
          ...errors('QUEUE_TOKEN_INVALID'),
        },
        detail: {
          operationId: 'watchQueueStatus',
          tags: ['waiting room'],
          summary: 'Pushed status (Server-Sent Events): a QueueStatus event on every change, a heartbeat comment every 15 s, the end after DONE, EXPIRED or SOLD_OUT',
          description:
            'For browsers (EventSource cannot send headers), the queue token alone authenticates. Each `status` event carries a QueueStatus as JSON; watching keeps a waiting place alive as polling does. A client that reconnects is told its current status at once. Answers 503 when the instance has no room for another stream: poll GET /v1/queue/status instead.',
          security: [],
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
