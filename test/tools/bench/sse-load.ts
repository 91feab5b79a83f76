// Pushed status under load: N concurrent Server-Sent Events clients (default 10,000) on ONE instance,
// all waiting in one line. Measures the instance's resident memory and CPU with every stream open and
// quiet, then while admission lets everyone in, and the delay from each admission (activeUntil minus
// the session length, on the store's clock, same machine) to the ACTIVE event reaching its client.
//
//   DATABASE_URL=... REDIS_URL=... bun test/tools/bench/sse-load.ts [--clients 10000] [--rate 500]
//
// Bounded: it starts its own database and instance, stops them, and gives up after --timeout seconds.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { userTokens } from '../../../src/identity/user-tokens'
import { ADMIN_KEY, TEST_SECRET } from '../../support/app'
import { createTestDatabase } from '../../support/database'
import { http, startInstance } from '../../support/instances'

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '500' },
    timeout: { type: 'string', default: '300' },
  },
})
const CLIENTS = Number(values.clients)
const RATE = Number(values.rate)
const TTL_SECONDS = 600
const TICK_MS = 1000
const deadline = setTimeout(() => {
  console.error(`gave up after ${values.timeout} s`)
  process.exit(2)
}, Number(values.timeout) * 1000)

const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) throw new Error('set DATABASE_URL (and REDIS_URL for the Redis store)')
const db = await createTestDatabase(databaseUrl, { max: 2 })
const instance = await startInstance({
  DATABASE_URL: db.url,
  DATABASE_POOL_SIZE: '10',
  ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  QUEUE_MAX_ACTIVE: String(CLIENTS * 2),
  QUEUE_ADMIT_PER_SECOND: String(RATE),
  QUEUE_ACTIVE_TTL_SECONDS: String(TTL_SECONDS),
  QUEUE_WAITING_IDLE_SECONDS: '600',
  QUEUE_TICK_MS: String(TICK_MS),
  RATE_LIMIT_PER_SECOND: '0',
  LOG_REQUESTS: 'false',
})
const pid = instance.process.pid

function rssMb() {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)
  return line ? Number(line[1]) / 1024 : NaN
}
function cpuTicks() {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime (fields 14 and 15), in 1/100 s
}
async function cpuOver(ms: number) {
  const t0 = cpuTicks()
  const w0 = performance.now()
  let peakRss = rssMb()
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb())), 250)
  await Bun.sleep(ms)
  clearInterval(sampler)
  return { cpuPercent: ((cpuTicks() - t0) * 10 * 100) / (performance.now() - w0), peakRssMb: peakRss }
}

const admin = { 'x-admin-key': ADMIN_KEY }
const created = await http(instance.url, '/v1/admin/concerts', {
  headers: admin,
  body: { title: 'SSE load', schedules: [{ startsAt: '2027-06-01T19:00:00Z', seatCount: 100, price: 1000 }] },
})
const concertId = created.body.concertId as string
const line = `/v1/admin/concerts/${concertId}/queue`
await http(instance.url, line, { method: 'PATCH', headers: admin, body: { paused: true } })
const idleBefore = { rssMb: rssMb() }

// Join everyone (paused: nobody is admitted yet).
const issuer = userTokens(TEST_SECRET)
const queueTokens: string[] = new Array(CLIENTS)
for (let i = 0; i < CLIENTS; i += 200) {
  await Promise.all(
    Array.from({ length: Math.min(200, CLIENTS - i) }, async (_, j) => {
      const token = await issuer.issue(`sse-${i + j}`)
      const joined = await http(instance.url, '/v1/queue/tokens', { token, body: { concertId } })
      if (joined.status !== 201) throw new Error(`join answered ${joined.status}`)
      queueTokens[i + j] = joined.body.token
    }),
  )
}

// A table that grew from nothing in seconds has no statistics until autovacuum comes by (up to a minute):
// the Postgres store's fan-out join would be planned for an empty table. A live database has them.
await db.sql`analyze queue_sessions`

// Open every stream; each client notes when its ACTIVE event arrives (wall clock, like activeUntil).
// Raw sockets: fetch() would cap concurrent requests (BUN_CONFIG_MAX_HTTP_REQUESTS, 256 by default) and
// costs more per stream than the server under test.
const delays: number[] = []
let opened = 0
let failed = 0
let heartbeats = 0
const { hostname, port } = new URL(instance.url)
function openStream(queueToken: string) {
  let seenHeader = false
  let buffer = ''
  return Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      open(socket) {
        socket.write(`GET /v1/queue/events?token=${encodeURIComponent(queueToken)} HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`)
      },
      data(socket, chunk) {
        const text = buffer + chunk.toString()
        if (!seenHeader) {
          if (!text.includes('\r\n\r\n')) return void (buffer = text)
          seenHeader = true
          buffer = ''
          if (!text.startsWith('HTTP/1.1 200')) {
            failed++
            return void socket.end()
          }
          opened++
        }
        if (text.includes(': heartbeat')) heartbeats++
        const match = text.match(/"status":"ACTIVE"[^}]*"activeUntil":"([^"]+)"/)
        if (match) {
          delays.push(Date.now() - (Date.parse(match[1]!) - TTL_SECONDS * 1000))
          socket.end()
        }
      },
      error() {
        failed++
      },
    },
  })
}
for (let i = 0; i < CLIENTS; i += 500) await Promise.all(queueTokens.slice(i, i + 500).map(openStream))
const openStarted = performance.now()
while (opened + failed < CLIENTS && performance.now() - openStarted < 240_000) await Bun.sleep(200)
const openSeconds = (performance.now() - openStarted) / 1000
console.log(`${opened} streams open (${failed} refused) in ${openSeconds.toFixed(1)} s`)

// Every stream open and quiet: what the instance costs at rest (ticks read the line and send nothing).
const quiet = await cpuOver(20_000)

// Admission lets everyone in at RATE per second.
await http(instance.url, line, { method: 'PATCH', headers: admin, body: { paused: false } })
const admitting = await cpuOver(Math.ceil(CLIENTS / RATE) * 1000 + 3000)
const wait = Date.now() + 15_000
while (delays.length < opened && Date.now() < wait) await Bun.sleep(200)

delays.sort((a, b) => a - b)
const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? NaN
const result = {
  clients: CLIENTS,
  store: process.env.REDIS_URL ? 'redis-tcp' : 'postgres',
  opened,
  refused: failed,
  openSeconds: Number(openSeconds.toFixed(1)),
  rssBeforeMb: Math.round(idleBefore.rssMb),
  quiet: { rssMb: Math.round(quiet.peakRssMb), cpuPercentOfOneCore: Math.round(quiet.cpuPercent) },
  admitting: { ratePerSecond: RATE, rssMb: Math.round(admitting.peakRssMb), cpuPercentOfOneCore: Math.round(admitting.cpuPercent) },
  activeEvents: delays.length,
  heartbeatsSeen: heartbeats,
  admissionToEventMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: delays.at(-1) ?? NaN },
  tickMs: TICK_MS,
}
console.log(JSON.stringify(result, null, 2))

clearTimeout(deadline)
await instance.stop()
await db.drop()
process.exit(0)
