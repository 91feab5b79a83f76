import type { Registry } from 'prom-client'

// A histogram for the hot path: every request observes one (HTTP duration) and every poll and join
// another (store round trip). prom-client's own costs about 0.5 µs an observation (it validates the
// labels and hashes the label object each time) plus, for a timer, process.hrtime and Object.assign:
// together several µs of a poll. Here a series is found by its label values joined into one string, or
// straight from the label object when the caller observes with the same object again (callers on the hot
// path keep one object per label set), and an observation is a bucket search and three additions. It is registered in prom-client's registry and
// scraped in the same text format as prom-client's histograms.

interface Series {
  labels: Record<string, string | number>
  /** Observations per bucket (not cumulative), one more than the bounds for +Inf. */
  counts: Float64Array
  sum: number
  count: number
}

export interface HistogramOptions<L extends string> {
  name: string
  help: string
  labelNames: readonly L[]
  /** Upper bounds, ascending. */
  buckets: readonly number[]
  registers: Registry[]
}

export class Histogram<L extends string> {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly labelNames: readonly L[]
  private readonly bounds: Float64Array
  private readonly series = new Map<string, Series>()
  /** Series by the label object last observed with: label objects are taken as never changing. */
  private byObject = new WeakMap<object, Series>()

  constructor({ name, help, labelNames, buckets, registers }: HistogramOptions<L>) {
    this.name = name
    this.help = help
    this.labelNames = labelNames
    this.bounds = Float64Array.from(buckets)
    for (const registry of registers) registry.registerMetric(this as never)
  }

  observe(labels: Readonly<Record<L, string | number>>, value: number) {
    let series = this.byObject.get(labels)
    if (!series) {
      series = this.seriesOf(labels)
      this.byObject.set(labels, series)
    }
    let bucket = 0
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++
    series.counts[bucket]!++
    series.sum += value
    series.count++
  }

  private seriesOf(labels: Readonly<Record<L, string | number>>): Series {
    let key = ''
    for (const name of this.labelNames) key += `${labels[name]}\u0000`
    let series = this.series.get(key)
    if (!series) {
      series = { labels: { ...labels }, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }
      this.series.set(key, series)
    }
    return series
  }

  /** prom-client's metric interface: the series as _bucket (cumulative, with le), _sum and _count. */
  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = []
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += counts[i]!
        values.push({ labels: { le: this.bounds[i]!, ...labels }, value: cumulative, metricName: `${this.name}_bucket` })
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` })
      values.push({ labels, value: sum, metricName: `${this.name}_sum` })
      values.push({ labels, value: count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  reset() {
    this.series.clear()
    // Label objects seen before point at the old series; they are looked up by their values again.
    this.byObject = new WeakMap()
  }
}
