import { heapStats } from 'bun:jsc'
import client from 'prom-client'

// Runtime metrics measured under Bun. prom-client's default collectors assume Node (V8 heap spaces,
// libuv handles) and report wrong figures under Bun, and they name gauges `_total`; these read what Bun
// actually has: RSS and CPU from the process, the JavaScriptCore heap from bun:jsc, and event-loop lag
// from how late a repeating timer fires.
const LAG_SAMPLE_MS = 100

export function runtimeMetrics(registry: client.Registry, prefix: string) {
  const registers = [registry]
  const startedAt = Date.now() / 1000 - process.uptime()
  new client.Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes',
    registers,
    collect() {
      this.set(process.memoryUsage.rss())
    },
  })
  new client.Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since the Unix epoch in seconds',
    registers,
    collect() {
      this.set(startedAt)
    },
  })
  new client.Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time spent in seconds',
    registers,
    collect() {
      const { user, system } = process.cpuUsage()
      this.reset()
      this.inc((user + system) / 1e6)
    },
  })
  new client.Gauge({
    name: `${prefix}js_heap_size_bytes`,
    help: 'Bytes of live objects in the JavaScriptCore heap (bun:jsc heapStats().heapSize)',
    registers,
    collect() {
      this.set(heapStats().heapSize)
    },
  })
  new client.Gauge({
    name: `${prefix}js_heap_capacity_bytes`,
    help: 'Bytes of address space the JavaScriptCore heap has reserved, resident or not (bun:jsc heapStats().heapCapacity)',
    registers,
    collect() {
      this.set(heapStats().heapCapacity)
    },
  })
  const lag = new client.Histogram({
    name: `${prefix}event_loop_lag_seconds`,
    help: `How late a ${LAG_SAMPLE_MS} ms timer fired: time the event loop was busy with other work`,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  })
  let expected = performance.now() + LAG_SAMPLE_MS
  const timer = setInterval(() => {
    const now = performance.now()
    lag.observe(Math.max(0, now - expected) / 1000)
    expected = now + LAG_SAMPLE_MS
  }, LAG_SAMPLE_MS)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
