import { redisStore } from '../../src/waiting-room/redis-store'
import { tcpTransport } from '../../src/waiting-room/redis/tcp'
import { describeWith, serviceUrl } from '../support/services'
import { deleteKeys, testPrefix } from '../support/redis'
import { storeContract } from './store-contract'

describeWith(['REDIS_URL'], 'waiting-room store contract: Redis over TCP', () => {
  storeContract(async () => {
    const redisUrl = serviceUrl('REDIS_URL')!
    const prefix = testPrefix()
    const store = redisStore(tcpTransport(redisUrl), { prefix })
    return {
      store,
      newConcert: async () => crypto.randomUUID(),
      async close() {
        await store.close()
        await deleteKeys(redisUrl, prefix)
      },
    }
  })
})
