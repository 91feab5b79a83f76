import type { Config } from '../config'
import type { Sql } from '../db/client'
import { postgresStore } from './postgres-store'
import type { WaitingRoomStore } from './store'

// Which store holds the waiting room: Upstash REST, Redis over TCP, or (neither set) Postgres tables.
export async function openStore(config: Config, sql: Sql): Promise<WaitingRoomStore> {
  switch (config.queueStore) {
    case 'postgres':
      return postgresStore(sql)
    default:
      throw new Error(`queue store ${config.queueStore} is not available in this build`)
  }
}
