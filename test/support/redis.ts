import { RedisClient } from 'bun'

// Redis-backed tests share one Redis with each other and with anything else using it: every store
// under test gets its own key prefix, and its keys are deleted afterwards.

export const testPrefix = () => `wrtest-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

/** Deletes every key of the store with this prefix (its lines and its registry). */
export async function deleteKeys(redisUrl: string, prefix: string) {
  const client = new RedisClient(redisUrl)
  try {
    for (const pattern of [`{${prefix}:*`, `${prefix}:*`]) {
      let cursor = '0'
      do {
        const [next, keys] = (await client.send('SCAN', [cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]]
        if (keys.length > 0) await client.send('UNLINK', keys)
        cursor = next
      } while (cursor !== '0')
    }
  } finally {
    client.close()
  }
}
