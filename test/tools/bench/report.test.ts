import { describe, expect, test } from 'bun:test'
import type { IndependentCeiling } from './independent'
import { jsonReport, postgresBoundTable } from './report'
import type { Row } from './scenarios/common'

const row = (name: string, rps: number): Row => ({
  name, store: 'redis-tcp', rps, p50Ms: 1, p99Ms: 2, errors: 0, ceilingRps: 0, ratio: 0, httpCeilingRps: 100_000,
  storeCeilingRps: 0, bound: 'http', share: rps / 100_000, driver: 'wrk', connections: 16, statuses: null, rssMb: null, notes: [],
})
const pgbench = (what: string, opsPerSecond: number | null): IndependentCeiling => ({ tool: 'pgbench', what, clients: 16, opsPerSecond })
const ceilings = [pgbench('balance UPDATE (charge)', 9_000), pgbench('conditional seat UPDATE (hold)', 20_000)]

describe("the bench's Postgres-bound rows", () => {
  test('the hold and pay rows are set against pgbench seat UPDATEs of the same run, beside the reference goal', () => {
    const text = postgresBoundTable([row('hold', 3_000), row('pay', 1_000), row('join', 30_000)], ceilings)
    expect(text).toContain('| hold     | redis-tcp | 3,000 |                20,000 |       0.150 |                         0.189 |')
    expect(text).toContain('| pay      | redis-tcp | 1,000 |                20,000 |       0.050 |                         0.042 |')
    expect(text).not.toContain('join')
  })

  test('without a pgbench figure nothing is made up', () => {
    expect(postgresBoundTable([row('hold', 3_000)], [pgbench('conditional seat UPDATE (hold)', null)])).toStartWith('(not measured')
    const json = jsonReport({} as never, [row('hold', 3_000)], [], {}, [])
    expect(json.scenarios[0]).not.toHaveProperty('shareOfPgbenchSeatUpdate')
  })

  test('the JSON carries the share for the Postgres-bound rows only', () => {
    const json = jsonReport({} as never, [row('hold', 3_000), row('poll', 40_000)], [], {}, ceilings)
    expect(json.scenarios[0]!.shareOfPgbenchSeatUpdate).toBe(0.15)
    expect(json.scenarios[1]).not.toHaveProperty('shareOfPgbenchSeatUpdate')
    expect(json.independentCeilings).toEqual(ceilings)
  })
})
