// A read that many users ask for at once (the seat map of an on-sale) is computed once per window and
// shared: concurrent requests wait for the same query, and answers are at most `ttlMs` old. Holds and
// payments never read it; they decide in SQL, so a stale AVAILABLE only costs a 409.
export function recent<T>(ttlMs: number, limit = 10_000) {
  const entries = new Map<string, { until: number; value: Promise<T> }>()
  return (key: string, load: () => Promise<T>): Promise<T> => {
    if (ttlMs <= 0) return load()
    const now = performance.now()
    const hit = entries.get(key)
    if (hit && hit.until > now) return hit.value
    if (entries.size >= limit) entries.clear()
    const value = load()
    entries.set(key, { until: now + ttlMs, value })
    value.catch(() => entries.delete(key))
    return value
  }
}
