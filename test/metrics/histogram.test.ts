import { describe, expect, test } from 'bun:test'
import client from 'prom-client'
import { Histogram } from '../../src/metrics/histogram'

// The hot-path histogram must scrape exactly as prom-client's own does for the same observations.
describe('histogram', () => {
  const options = { name: 'demo_seconds', help: 'A demo', labelNames: ['route', 'status'] as const, buckets: [0.001, 0.01, 0.1, 1] }
  const values = [0, 0.0005, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 1, 2, 30]

  test('gives the text prom-client gives, bucket edges included', async () => {
    const theirs = new client.Registry()
    const ours = new client.Registry()
    const reference = new client.Histogram({ ...options, registers: [theirs] })
    const fast = new Histogram({ ...options, registers: [ours] })
    for (const [i, value] of values.entries()) {
      const labels = { route: i % 2 ? '/a' : '/b', status: i % 3 ? 200 : 404 }
      reference.observe(labels, value)
      fast.observe(labels, value)
    }
    expect(await ours.metrics()).toBe(await theirs.metrics())
    expect(await ours.metrics()).toContain('demo_seconds_bucket{le="0.001",route="/b",status="404"} 1')
  })

  test('labels with the same values in another order are one series; reset empties it', async () => {
    const registry = new client.Registry()
    const fast = new Histogram({ ...options, registers: [registry] })
    fast.observe({ route: '/a', status: 200 }, 0.5)
    fast.observe({ status: 200, route: '/a' }, 0.5)
    expect(await registry.metrics()).toContain('demo_seconds_count{route="/a",status="200"} 2')
    fast.reset()
    expect(await registry.metrics()).not.toContain('demo_seconds_count')
  })

  test('one label object observed many times, and others with its values, are one series, also across a reset', async () => {
    const registry = new client.Registry()
    const fast = new Histogram({ ...options, registers: [registry] })
    const kept = Object.freeze({ route: '/a', status: 200 })
    for (let i = 0; i < 3; i++) fast.observe(kept, 0.5)
    fast.observe({ route: '/a', status: 200 }, 0.5)
    fast.observe({ route: '/b', status: 200 }, 0.5)
    expect(await registry.metrics()).toContain('demo_seconds_count{route="/a",status="200"} 4')
    expect(await registry.metrics()).toContain('demo_seconds_count{route="/b",status="200"} 1')
    fast.reset()
    fast.observe(kept, 0.5)
    expect(await registry.metrics()).toContain('demo_seconds_count{route="/a",status="200"} 1')
    expect(await registry.metrics()).not.toContain('route="/b"')
  })
})
