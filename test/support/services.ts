import { describe } from 'bun:test'

// Suites that need a Postgres server or Redis run when DATABASE_URL / REDIS_URL are set. Without them
// they are skipped with a visible notice; with REQUIRE_SERVICES=1 (CI) a missing service is a failure.
export const requireServices = process.env.REQUIRE_SERVICES === '1'

export function serviceUrl(name: 'DATABASE_URL' | 'REDIS_URL'): string | undefined {
  const value = process.env[name]
  return value && value.trim() !== '' ? value.trim() : undefined
}

/** describe() that runs only when every named service is configured. */
export function describeWith(names: ('DATABASE_URL' | 'REDIS_URL')[], title: string, body: () => void) {
  const missing = names.filter((n) => !serviceUrl(n))
  if (missing.length === 0) return describe(title, body)
  if (requireServices) {
    throw new Error(`REQUIRE_SERVICES=1 but ${missing.join(', ')} is not set: "${title}" cannot run`)
  }
  console.warn(`SKIPPED "${title}": set ${missing.join(' and ')} to run it`)
  return describe.skip(title, body)
}

/**
 * describeWith() for suites that also need programs outside node_modules (Chromium, promtool). Without
 * them the suite is skipped with a notice; with REQUIRE_SERVICES=1 (CI, which installs them) it fails.
 */
export function describeWithPrograms(programs: string[], names: ('DATABASE_URL' | 'REDIS_URL')[], title: string, body: () => void) {
  const missing = programs.filter((p) => (p.startsWith('/') ? !Bun.file(p).size : !Bun.which(p)))
  if (missing.length === 0) return describeWith(names, title, body)
  if (requireServices) throw new Error(`REQUIRE_SERVICES=1 but ${missing.join(', ')} is not installed: "${title}" cannot run`)
  console.warn(`SKIPPED "${title}": install ${missing.join(' and ')} to run it (apt-get install chromium prometheus)`)
  return describe.skip(title, body)
}
