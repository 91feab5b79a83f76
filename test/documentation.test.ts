import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dir, '..')
const read = (file: string) => readFileSync(join(root, file), 'utf8')

// Every variable the configuration reads is documented where users look for it.
describe('configuration documentation', () => {
  const source = read('src/config.ts')
  const variables = [...new Set([...source.matchAll(/\(env, '([A-Z_]+)'/g)].map((m) => m[1]!))]

  test('the configuration reads the variables of the contract', () => {
    expect(variables.length).toBeGreaterThanOrEqual(20)
    expect(variables).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'QUEUE_TICK_MS', 'MAX_BALANCE']))
  })

  test.each(['README.md', '.env.example'])('%s names every variable', (file) => {
    const text = read(file)
    const missing = variables.filter((v) => !text.includes(v))
    expect(missing).toEqual([])
  })
})
