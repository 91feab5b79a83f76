import { mapLimit, sleep } from './driver'
import { describeFailure, type HttpPool, type HttpRequest, type HttpResponse, json } from './http-client'

// The public API as a client sees it: the seeding steps (dev tokens, admin concerts, charges, joining and
// waiting to be admitted), each the way PRODUCT.md describes it.

export interface User {
  userId: string
  token: string
  queueToken?: string
}

export interface QueueStatus {
  status: 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'DONE' | 'SOLD_OUT'
  position: number | null
  pollAfterMs: number
}

// Every instance of a run shares one AUTH_JWT_SECRET, so a dev token is valid on all of them: each user's
// token is fetched once per run (through the dev token endpoint of whichever instance asks first).
const devTokens = new Map<string, string>()

export class Api {
  /** Every concert this client created (the Redis keys to remove afterwards). */
  readonly concerts: string[] = []

  constructor(
    readonly pool: HttpPool,
    readonly adminKey: string,
  ) {}

  async expect(r: HttpRequest, statuses: number[]): Promise<HttpResponse> {
    const response = await this.pool.request(r)
    if (!statuses.includes(response.status)) {
      throw new Error(`${r.method} ${r.path}: ${describeFailure(response)} ${response.text.slice(0, 200)}`)
    }
    return response
  }

  async createConcert(title: string, schedules: { seatCount: number; price: number }[]) {
    const body = {
      title,
      schedules: schedules.map((s, i) => ({ startsAt: new Date(Date.UTC(2027, 0, 1 + i, 19)).toISOString(), ...s })),
    }
    const response = await this.expect(
      { method: 'POST', path: '/v1/admin/concerts', headers: { 'x-admin-key': this.adminKey }, body },
      [201],
    )
    const created = json<{ concertId: string; schedules: { scheduleId: string }[] }>(response)
    this.concerts.push(created.concertId)
    return { concertId: created.concertId, scheduleIds: created.schedules.map((s) => s.scheduleId) }
  }

  async devToken(userId: string): Promise<string> {
    const known = devTokens.get(userId)
    if (known) return known
    const response = await this.expect({ method: 'POST', path: '/v1/dev/user-tokens', body: { userId } }, [201])
    const { token } = json<{ token: string }>(response)
    devTokens.set(userId, token)
    return token
  }

  async charge(user: User, amount: number) {
    await this.expect({ method: 'POST', path: '/v1/balance/charges', headers: auth(user), body: { amount } }, [201])
  }

  async join(user: User, concertId: string): Promise<QueueStatus & { token: string }> {
    const response = await this.expect(
      { method: 'POST', path: '/v1/queue/tokens', headers: auth(user), body: { concertId } },
      [200, 201],
    )
    return json(response)
  }

  async status(user: User): Promise<QueueStatus> {
    return json(await this.expect({ method: 'GET', path: '/v1/queue/status', headers: auth(user) }, [200]))
  }

  /** Users with dev tokens; optionally charged, joined to a concert and polled until ACTIVE. */
  async users(
    prefix: string,
    count: number,
    o: { balance?: number; join?: string; admit?: boolean; concurrency?: number } = {},
  ): Promise<User[]> {
    const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
    const users = await mapLimit(ids, o.concurrency ?? 64, async (userId) => {
      const user: User = { userId, token: await this.devToken(userId) }
      if (o.balance) await this.charge(user, o.balance)
      if (o.join) user.queueToken = (await this.join(user, o.join)).token
      return user
    })
    if (o.admit) await this.untilActive(users, 60_000)
    return users
  }

  /** Polls every user until ACTIVE (the admission job admits them); fails after timeoutMs. */
  async untilActive(users: User[], timeoutMs: number) {
    let waiting = users
    const deadline = Date.now() + timeoutMs
    while (waiting.length > 0) {
      const states = await mapLimit(waiting, 64, (u) => this.status(u))
      waiting = waiting.filter((_, i) => states[i]!.status !== 'ACTIVE')
      const unexpected = states.find((s) => s.status !== 'ACTIVE' && s.status !== 'WAITING')
      if (unexpected) throw new Error(`a user waiting for admission is ${unexpected.status}`)
      if (waiting.length === 0) return
      if (Date.now() > deadline) throw new Error(`${waiting.length} users were not admitted within ${timeoutMs} ms`)
      await sleep(250)
    }
  }
}

export function auth(user: User): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${user.token}` }
  if (user.queueToken) headers['x-queue-token'] = user.queueToken
  return headers
}
