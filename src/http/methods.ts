// Which methods a path is served with, from the app's route table: a known path asked with another
// method is a 405 with Allow (RFC 9110), not a 404.
export function methodTable(routes: readonly { method: string; path: string }[]) {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const patterns = routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({
      method: r.method.toUpperCase(),
      pattern: new RegExp(`^${r.path.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : escape(seg))).join('/')}/?$`),
    }))
  return (path: string): string[] => {
    const methods = new Set<string>()
    for (const { method, pattern } of patterns) if (pattern.test(path)) methods.add(method)
    if (methods.size === 0) return []
    if (methods.has('GET')) methods.add('HEAD')
    methods.add('OPTIONS')
    return [...methods].sort()
  }
}
