import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** Embedded mode keeps its own random token secret in DATA_DIR, so that tokens survive restarts. */
export function embeddedSecret(dataDir: string): string {
  const file = join(resolve(dataDir), 'auth-jwt-secret')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(resolve(dataDir), { recursive: true })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(file, secret, { mode: 0o600 })
  return secret
}
