import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { freePort } from './ports'
import { requireServices } from './services'

// PgBouncer (the Debian package, 1.18) in transaction mode in front of the Postgres of DATABASE_URL,
// on a spare port, with its config in a temp dir: every database name is passed through, so the test
// databases that suites create are reachable through it. Named prepared statements do not survive
// transaction pooling in 1.18, hence DATABASE_PREPARE=false for the app behind it.
export interface PgBouncer {
  port: number
  /** The same database as `directUrl`, through the pooler. */
  urlFor(directUrl: string): string
  stop(): Promise<void>
}

export const pgbouncerAvailable = () => Bun.which('pgbouncer') !== null

export async function startPgBouncer(directUrl: string, settings: Record<string, string | number> = {}): Promise<PgBouncer> {
  const target = new URL(directUrl)
  const user = decodeURIComponent(target.username || 'postgres')
  const dir = mkdtempSync(join(tmpdir(), 'cwr-pgbouncer-'))
  const port = freePort()
  const config = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: join(dir, 'userlist.txt'),
    pool_mode: 'transaction',
    max_client_conn: 1000,
    default_pool_size: 20,
    // A client waiting for a server connection longer than this gets an error (answered 503) instead of a hang.
    query_wait_timeout: 5,
    ignore_startup_parameters: 'extra_float_digits,options',
    server_reset_query: '',
    admin_users: user,
    logfile: '',
    pidfile: '',
    ...settings,
  }
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`)
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]\n* = host=${target.hostname} port=${target.port || 5432}\n\n[pgbouncer]\n` +
      Object.entries(config).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n',
  )
  // PgBouncer refuses to run as root; as root (CI containers) it drops to nobody, who must read the config.
  chmodSync(dir, 0o755)
  const asRoot = process.getuid?.() === 0
  const child: Subprocess = Bun.spawn(['pgbouncer', ...(asRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
  })
  // A test process that dies takes its pooler with it.
  const orphanGuard = () => child.kill('SIGKILL')
  process.once('exit', orphanGuard)
  const stop = async () => {
    process.off('exit', orphanGuard)
    child.kill('SIGTERM')
    await Promise.race([child.exited, Bun.sleep(2000).then(() => child.kill('SIGKILL'))])
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; ; i++) {
    const open = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then(
      (s) => (s.end(), true),
      () => false,
    )
    if (open) break
    if (child.exitCode !== null || i > 100) {
      const err = await new Response(child.stderr as ReadableStream).text().catch(() => '')
      await stop()
      throw new Error(`pgbouncer did not start: ${err}`)
    }
    await Bun.sleep(50)
  }
  return {
    port,
    urlFor(url) {
      const through = new URL(url)
      through.hostname = '127.0.0.1'
      through.port = String(port)
      return through.toString()
    },
    stop,
  }
}

/**
 * The ways a suite can reach Postgres: directly, and through PgBouncer in transaction mode with
 * unnamed statements. Suites that must hold behind a pooler run once per route.
 */
export interface DatabaseRoute {
  title: string
  /** What the app needs on this route. */
  env: Record<string, string>
  open(directUrl: string): Promise<void>
  /** The URL the app uses for a database of the server. */
  url(databaseUrl: string): string
  close(): Promise<void>
}

export function databaseRoutes(): DatabaseRoute[] {
  const direct: DatabaseRoute = { title: '', env: {}, open: async () => {}, url: (u) => u, close: async () => {} }
  if (!pgbouncerAvailable()) {
    if (requireServices) throw new Error('REQUIRE_SERVICES=1 but pgbouncer is not installed (apt-get install pgbouncer)')
    console.warn('SKIPPED the PgBouncer runs: pgbouncer is not installed (apt-get install pgbouncer)')
    return [direct]
  }
  let bouncer: PgBouncer | null = null
  const pooled: DatabaseRoute = {
    title: ' (through PgBouncer, transaction mode)',
    env: { DATABASE_PREPARE: 'false' },
    async open(directUrl) {
      bouncer = await startPgBouncer(directUrl)
    },
    url: (u) => bouncer!.urlFor(u),
    async close() {
      await bouncer?.stop()
    },
  }
  return [direct, pooled]
}
