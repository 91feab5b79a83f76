import { parseArgs } from 'node:util'
import type { StoreKind } from './scenarios/common'
import { ALL_STORES } from './stores'
import { WRK } from './wrk'

export const SCENARIOS = ['health', 'seats-50', 'seats-10000', 'seats-50000', 'seats-100000', 'seat-map-100000', 'seats-100000-304', 'charge', 'hold-hot', 'hold', 'pay', 'maps-changing', 'join', 'poll', 'poll-crowd', 'sellout'] as const
export type ScenarioName = (typeof SCENARIOS)[number]
/** Scenarios whose every request goes to the queue store: run on every store, the store comparison. */
export const QUEUE_SCENARIOS: ScenarioName[] = ['join', 'poll', 'poll-crowd', 'sellout']

export const USAGE = `bun run bench [options]

Starts its own app instances (bun src/index.ts) against DATABASE_URL (in a database it creates and drops)
and the waiting-room stores, seeds its own data, drives load, and measures the ceilings in the same run.

  --store S          postgres | redis-tcp | redis-rest | all (default), or a comma list
  --quick            short runs; booking scenarios on the first store only; ends within 3 minutes
  --duration SEC     measured window per side of a scenario (default 10; quick 2)
  --warmup SEC       warm-up before each window (default 3; quick 1)
  --connections N    concurrent connections / in-flight store calls (default 64)
  --driver D         wrk | bun: the HTTP load driver (default wrk where installed, else the in-repo one)
  --rounds N         slices per window, HTTP and store ceiling alternating (default 3; quick 2)
  --scenarios LIST   a comma list of: ${SCENARIOS.join(', ')}
  --booking-on W     first | all: stores that run the booking scenarios (default: quick first, else all)
  --sellout-seats N  seats of the sellout concert (default 1000; quick 200); users = 2 x seats
  --redis-db N       Redis logical database for the bench's keys (default 15)
  --out FILE         write the results as JSON
  --profile          profile the app's CPU over the measured HTTP slices; a markdown report per scenario
                     and the profiles under profiles/ in the run directory
  --embedded         allow embedded mode (no DATABASE_URL): HTTP side only, results labelled
  --help

Environment: DATABASE_URL (Postgres server), REDIS_URL (Redis; enables redis-tcp and redis-rest),
QUEUE_* (the admission limits that sellout runs with; defaults as the service's).`

export interface Options {
  stores: StoreKind[]
  quick: boolean
  durationMs: number
  warmupMs: number
  connections: number
  rounds: number
  scenarios: ScenarioName[]
  bookingOn: 'first' | 'all'
  selloutSeats: number
  redisDb: number
  out: string | null
  embedded: boolean
  profile: boolean
  driver: 'wrk' | 'bun'
}

export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: 'string', default: 'all' },
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '64' },
      rounds: { type: 'string' },
      driver: { type: 'string' },
      scenarios: { type: 'string' },
      'booking-on': { type: 'string' },
      'sellout-seats': { type: 'string' },
      'redis-db': { type: 'string', default: '15' },
      out: { type: 'string' },
      embedded: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) return null
  const quick = values.quick!
  const number = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}`)
    return n
  }
  const stores = values.store === 'all' ? ALL_STORES : (values.store!.split(',') as StoreKind[])
  for (const s of stores) if (!ALL_STORES.includes(s)) throw new Error(`--store: unknown store ${s}`)
  const scenarios = values.scenarios ? (values.scenarios.split(',') as ScenarioName[]) : [...SCENARIOS]
  for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`--scenarios: unknown scenario ${s}`)
  const bookingOn = (values['booking-on'] ?? (quick ? 'first' : 'all')) as 'first' | 'all'
  if (bookingOn !== 'first' && bookingOn !== 'all') throw new Error('--booking-on must be first or all')
  const driver = (values.driver ?? (WRK ? 'wrk' : 'bun')) as 'wrk' | 'bun'
  if (driver !== 'wrk' && driver !== 'bun') throw new Error('--driver must be wrk or bun')
  if (driver === 'wrk' && !WRK) throw new Error('--driver wrk: wrk is not installed (apt-get install wrk)')
  return {
    driver,
    stores,
    quick,
    durationMs: number('duration', values.duration, quick ? 2 : 10, 0.5) * 1000,
    warmupMs: number('warmup', values.warmup, quick ? 1 : 3, 0) * 1000,
    connections: number('connections', values.connections, 64, 1),
    rounds: Math.round(number('rounds', values.rounds, quick ? 2 : 3, 1)),
    scenarios,
    bookingOn,
    selloutSeats: number('sellout-seats', values['sellout-seats'], quick ? 200 : 1000, 1),
    redisDb: number('redis-db', values['redis-db'], 15, 0),
    out: values.out ?? null,
    embedded: values.embedded!,
    profile: values.profile!,
  }
}
