import { startRedisRest } from '../tools/redis-rest'
import { redisStore } from '../../src/waiting-room/redis-store'
import { restTransport } from '../../src/waiting-room/redis/rest'
import { describeWith, serviceUrl } from '../support/services'
import { deleteKeys, testPrefix } from '../support/redis'
import { storeContract } from './store-contract'

describeWith(['REDIS_URL'], 'waiting-room store contract: Redis over the Upstash REST API', () => {
  storeContract(async () => {
    const redisUrl = serviceUrl('REDIS_URL')!
    const front = startRedisRest({ redisUrl, port: 0, token: 'contract-test-token' })
    const prefix = testPrefix()
    const store = redisStore(restTransport(front.url, front.token), { prefix })
    return {
      store,
      newConcert: async () => crypto.randomUUID(),
      async close() {
        await store.close()
        await front.stop()
        await deleteKeys(redisUrl, prefix)
      },
    }
  })
})
