import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { freePort } from './ports'

// A real Redis Cluster for the tests: three `redis-server --cluster-enabled yes` masters on spare ports,
// each with its own cluster config file in a temp dir, joined with `redis-cli --cluster create`. Started
// by the suites that need it (so CI gets it through `bun test`) and torn down after them.
export interface RedisCluster {
  /** `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`, as REDIS_CLUSTER_NODES takes it. */
  nodes: string
  ports: number[]
  /** redis-cli against one node; throws on a non-zero exit. */
  cli(port: number, ...args: string[]): Promise<string>
  /** SIGKILL one node: a master lost without warning. */
  kill(port: number): Promise<void>
  stop(): Promise<void>
}

// A node listens on its port and on port + 10000 (the cluster bus): both must be free.
const CLUSTER_BUS_OFFSET = 10_000

async function run(args: string[]): Promise<string> {
  const child = Bun.spawn(args, { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}:\n${out}\n${err}`)
  return out
}

export const clusterAvailable = () => Bun.which('redis-server') !== null && Bun.which('redis-cli') !== null

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'cwr-redis-cluster-'))
  const ports = Array.from({ length: masters }, () => freePort(CLUSTER_BUS_OFFSET))
  const servers: Subprocess[] = ports.map((port) =>
    Bun.spawn(
      [
        'redis-server',
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', '5000',
        '--save', '',
        '--appendonly', 'no',
        '--dir', dir,
      ],
      { stdout: 'ignore', stderr: 'ignore', stdin: 'ignore' },
    ),
  )
  const cli = (port: number, ...args: string[]) => run(['redis-cli', '-h', '127.0.0.1', '-p', String(port), ...args])
  // A test process that dies takes its cluster with it.
  const orphanGuard = () => servers.forEach((s) => s.kill('SIGKILL'))
  process.once('exit', orphanGuard)
  const stop = async () => {
    process.off('exit', orphanGuard)
    for (const server of servers) server.kill('SIGKILL')
    await Promise.all(servers.map((s) => s.exited))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) {
      for (let i = 0; ; i++) {
        const pong = await cli(port, 'ping').catch(() => '')
        if (pong.trim() === 'PONG') break
        if (i > 100) throw new Error(`redis-server on ${port} did not start`)
        await Bun.sleep(50)
      }
    }
    await run(['redis-cli', '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'])
    // `create` returns once the slots are assigned; every node must also agree that the cluster is up.
    for (let i = 0; ; i++) {
      const states = await Promise.all(ports.map((p) => cli(p, 'cluster', 'info')))
      if (states.every((s) => s.includes('cluster_state:ok'))) break
      if (i > 200) throw new Error(`the cluster did not come up:\n${states.join('\n')}`)
      await Bun.sleep(50)
    }
  } catch (error) {
    await stop()
    throw error
  }
  const kill = async (port: number) => {
    const server = servers[ports.indexOf(port)]!
    server.kill('SIGKILL')
    await server.exited
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), ports, cli, kill, stop }
}
