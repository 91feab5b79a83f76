import { Cluster } from 'ioredis'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { keySlot, SLOTS } from './slots'
import { RedisReplyError, RedisUnavailableError, withDeadline, type RedisTransport } from './transport'

// Redis Cluster over TCP (REDIS_CLUSTER_NODES=host:port,...) with ioredis' Cluster: it keeps the slot
// map, sends each script to the master of its keys' slot (every key of a line shares the hash tag
// `{concertId}`, so a script has one slot), follows MOVED and ASK while slots migrate and retries
// TRYAGAIN (a script whose keys are half moved is refused whole by Redis, never run in part). Bun's own
// client speaks to one node only, so the single-node transport (tcp.ts) stays on it.
//
// Like the single-node transport it keeps no queue of its own while the cluster is unreachable: a call
// made before the client is ready waits for it only until its deadline, then the store answers 503;
// ioredis reconnects in the background.
const membersScript = readFileSync(join(import.meta.dir, 'members.lua'), 'utf8')

export function clusterTransport(nodes: string, options: { timeoutMs?: number } = {}): RedisTransport {
  const timeoutMs = options.timeoutMs ?? 1500
  const cluster = new Cluster(
    // REDIS_CLUSTER_NODES was checked by the configuration: host:port entries, IPv6 hosts in brackets.
    nodes.split(',').map((entry) => {
      const at = entry.lastIndexOf(':')
      return { host: entry.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(entry.slice(at + 1)) }
    }),
    {
    enableOfflineQueue: false,
    // No auto-pipelining: a batch that meets MOVED or TRYAGAIN for some of its commands hands those
    // errors to the caller instead of following them, while a lone command is redirected and retried.
    enableAutoPipelining: false,
    // A slot in migration refuses a script whose keys are split between two nodes with TRYAGAIN until
    // the last of them has moved (milliseconds for a line's few keys); retrying every 50 ms stays well
    // inside the store's deadline.
    retryDelayOnTryAgain: 50,
    retryDelayOnMoved: 0,
    retryDelayOnClusterDown: 100,
    maxRedirections: 16,
    slotsRefreshTimeout: timeoutMs,
    redisOptions: { connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0 },
    },
  )
  // Connection errors surface through the calls that meet them (as 503); the event would otherwise be
  // reported as unhandled.
  cluster.on('error', () => {})

  let ready: Promise<void> | null = null
  function whenReady(): Promise<void> {
    if (cluster.status === 'ready') return Promise.resolve()
    if (cluster.status === 'end') return Promise.reject(new Error('the cluster client is closed'))
    ready ??= new Promise<void>((resolve) => cluster.once('ready', resolve)).finally(() => (ready = null))
    return ready
  }

  async function send<T>(what: string, call: () => Promise<T>): Promise<T> {
    const work = whenReady().then(call).catch((error: unknown) => {
      // ReplyError: Redis answered with an error (NOSCRIPT, a failing script, CLUSTERDOWN). Anything
      // else (not ready, connection lost, timed out, too many redirections) means it could not answer.
      if (error instanceof Error && error.name === 'ReplyError') throw new RedisReplyError(error.message, { cause: error })
      throw new RedisUnavailableError(`Redis Cluster is unreachable: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      })
    })
    return withDeadline(work, timeoutMs, `Redis Cluster ${what}`)
  }

  return {
    kind: 'redis-cluster',
    evalsha: (sha, keys, args) => send('EVALSHA', () => cluster.evalsha(sha, keys.length, ...keys, ...args)),
    eval: (script, keys, args) => send('EVAL', () => cluster.eval(script, keys.length, ...keys, ...args)),
    async members(keys) {
      return send('SMEMBERS', async () => {
        // One script per master reads the sets of the slots it serves (as far as the client's slot map
        // knows) in one round trip; if a slot moved meanwhile, that master's sets are read one by one,
        // which the client redirects.
        const byNode = new Map<string, string[]>()
        for (const key of keys) {
          const node = cluster.slots[keySlot(key)]?.[0] ?? ''
          const list = byNode.get(node)
          if (list) list.push(key)
          else byNode.set(node, [key])
        }
        const masters = new Map(cluster.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]))
        const sets = await Promise.all(
          [...byNode].map(async ([node, nodeKeys]) => {
            const client = masters.get(node)
            const together = client ? await (client.eval(membersScript, 0, ...nodeKeys) as Promise<string[]>).catch(() => null) : null
            return together ?? (await Promise.all(nodeKeys.map((key) => cluster.smembers(key)))).flat()
          }),
        )
        return sets.flat()
      })
    },
    async ping() {
      // Ready only if every slot has a master that answers: each master serves some lines, and one
      // that is gone (even before the cluster marks it failed) takes its lines with it.
      await send('PING', async () => {
        if (cluster.status !== 'ready') throw new Error(`the cluster client is ${cluster.status}`)
        const owners = new Set<string>()
        for (let slot = 0; slot < SLOTS; slot++) {
          const owner = cluster.slots[slot]?.[0]
          if (!owner) throw new Error(`slot ${slot} has no master`)
          owners.add(owner)
        }
        const masters = new Map(cluster.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]))
        await Promise.all(
          [...owners].map((owner) => {
            const node = masters.get(owner)
            if (!node) throw new Error(`no connection to the master ${owner}`)
            return node.ping()
          }),
        )
      })
    },
    async close() {
      cluster.disconnect()
    },
  }
}
