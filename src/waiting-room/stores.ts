import type { Config } from '../config'
import type { Sql } from '../db/client'
import { postgresStore } from './postgres-store'
import { restTransport } from './redis/rest'
import { tcpTransport } from './redis/tcp'
import { redisStore } from './redis-store'
import type { WaitingRoomStore } from './store'

// Which store holds the waiting room: Upstash REST, a Redis Cluster, one Redis over TCP, or (none set)
// Postgres tables.
// Redis stores connect lazily: an instance starts even while Redis is down, answers 503 for the waiting
// room (and /ready says why) and recovers by itself when Redis is back.
export async function openStore(config: Config, sql: Sql): Promise<WaitingRoomStore> {
  switch (config.queueStore) {
    case 'redis-rest':
      return redisStore(restTransport(config.upstash!.url, config.upstash!.token))
    case 'redis-cluster': {
      // Loaded only for a cluster: ioredis is not needed by any other store.
      const { clusterTransport } = await import('./redis/cluster')
      return redisStore(clusterTransport(config.redisClusterNodes!))
    }
    case 'redis-tcp':
      return redisStore(tcpTransport(config.redisUrl!))
    case 'postgres':
      return postgresStore(sql)
  }
}
