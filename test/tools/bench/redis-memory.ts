// How much Redis memory one waiting user costs, and what a poll costs at the back of a long line.
//
//   bun test/tools/bench/redis-memory.ts      REDIS_URL [redis://127.0.0.1:6379], USERS [100000]
//
// Joins USERS users into a fresh line twice (short user ids, then UUIDs), measures the line's keys
// with MEMORY USAGE (exact: SAMPLES 0) and INFO memory, times polls at the back of the line, and
// deletes everything it made.
import { RedisClient } from 'bun'
import { redisStore } from '../../../src/waiting-room/redis-store'
import { lineKeys, singleRegistry } from '../../../src/waiting-room/redis/scripts'
import { tcpTransport } from '../../../src/waiting-room/redis/tcp'
import type { LineLimits } from '../../../src/waiting-room/store'

export interface MemoryReport {
  users: number
  bytesPerUser: number
  usedMemoryPerUser: number
  pollMicroseconds: number
}

const limits: LineLimits = { maxActive: 1000, admitPerSecond: 50, activeTtlSeconds: 600, waitingIdleSeconds: 3600 }

async function usedMemory(admin: RedisClient): Promise<number> {
  const info = (await admin.send('INFO', ['memory'])) as string
  return Number(/used_memory:(\d+)/.exec(info)![1])
}

/** Joins `users` users into one new line and measures it; cleans up after itself. */
export async function measureWaitingUserMemory(
  redisUrl: string,
  users: number,
  userId: (i: number) => string,
): Promise<MemoryReport> {
  const prefix = `wrmem-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
  const store = redisStore(tcpTransport(redisUrl), { prefix })
  const admin = new RedisClient(redisUrl)
  const concertId = crypto.randomUUID()
  const keys = lineKeys(prefix, concertId, singleRegistry(prefix))
  try {
    await store.join(concertId, userId(0), limits)
    const before = await usedMemory(admin)
    const batch = 1000
    for (let from = 1; from < users; from += batch) {
      const joins = []
      for (let i = from; i < Math.min(users, from + batch); i++) joins.push(store.join(concertId, userId(i), limits))
      await Promise.all(joins)
    }
    const after = await usedMemory(admin)
    let bytes = 0
    for (const key of keys.slice(0, 8)) bytes += Number((await admin.send('MEMORY', ['USAGE', key, 'SAMPLES', '0'])) ?? 0)

    const last = await store.join(concertId, userId(users - 1), limits)
    if (last === 'SOLD_OUT') throw new Error('unexpected SOLD_OUT')
    const ticket = { concertId, userId: userId(users - 1), seq: last.seq }
    const polls = 1000
    const started = performance.now()
    for (let i = 0; i < polls; i++) await store.poll(ticket, limits)
    const pollMicroseconds = ((performance.now() - started) * 1000) / polls

    return { users, bytesPerUser: bytes / users, usedMemoryPerUser: (after - before) / (users - 1), pollMicroseconds }
  } finally {
    await admin.send('DEL', keys.slice(0, 8))
    await admin.send('SREM', [keys[8]!, concertId])
    admin.close()
    await store.close()
  }
}

if (import.meta.main) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const users = Number(process.env.USERS ?? 100_000)
  const shapes: [string, (i: number) => string][] = [
    ['short user ids ("user-123456")', (i) => `user-${i}`],
    ['UUID user ids', (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`],
  ]
  console.log(`Redis at ${redisUrl}, ${users.toLocaleString('en')} waiting users per line`)
  for (const [name, userId] of shapes) {
    const r = await measureWaitingUserMemory(redisUrl, users, userId)
    console.log(
      `${name}: ${r.bytesPerUser.toFixed(0)} bytes per waiting user (MEMORY USAGE of the line's keys), ` +
        `${r.usedMemoryPerUser.toFixed(0)} by INFO used_memory; ` +
        `1,000,000 waiting users ~ ${((r.bytesPerUser * 1_000_000) / 2 ** 20).toFixed(0)} MiB; ` +
        `a poll at the back of the line: ${r.pollMicroseconds.toFixed(0)} us round trip`,
    )
  }
}
