import { redisStore } from '../../src/waiting-room/redis-store'
import { clusterTransport } from '../../src/waiting-room/redis/cluster'
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster'
import { describeWith } from '../support/services'
import { testPrefix } from '../support/redis'
import { storeContract } from './store-contract'

// The same contract as every other store, on a real three-master Redis Cluster: each script touches
// one slot (the line's `{concertId}`), and the registry of lines is one set per slot.
describeWith(['REDIS_URL'], 'waiting-room store contract: Redis Cluster (three masters)', () => {
  storeContract(async () => {
    const cluster: RedisCluster = await startRedisCluster()
    const store = redisStore(clusterTransport(cluster.nodes), { prefix: testPrefix() })
    return {
      store,
      newConcert: async () => crypto.randomUUID(),
      async close() {
        await store.close()
        await cluster.stop()
      },
    }
  })
})
