import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export interface EmbeddedDatabase {
  url: string
  close(): Promise<void>
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

// PGlite keeps its files in one directory and must never be opened by two processes at once;
// a pid file makes a second instance on the same DATA_DIR stop with a clear message.
function lockDataDir(dir: string): () => void {
  const lockFile = join(dir, 'instance.pid')
  try {
    const pid = Number(readFileSync(lockFile, 'utf8'))
    if (pid && pid !== process.pid && processAlive(pid)) {
      throw new Error(`DATA_DIR ${dir} is in use by process ${pid}; embedded mode serves one instance per data directory`)
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  writeFileSync(lockFile, String(process.pid))
  return () => rmSync(lockFile, { force: true })
}

// Embedded mode: PGlite (Postgres compiled to WASM) persisted under DATA_DIR, served on a loopback
// socket so that postgres.js and the same SQL files run unchanged. PGlite serves one connection at a time.
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = resolve(dataDir)
  mkdirSync(dir, { recursive: true })
  const unlock = lockDataDir(dir)
  const db = await PGlite.create(join(dir, 'pgdata'))
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 })
  await server.start()
  const address = (server as unknown as { server: { address(): { port: number } } }).server.address()
  return {
    url: `postgres://postgres@127.0.0.1:${address.port}/postgres`,
    async close() {
      await server.stop()
      await db.close()
      unlock()
    },
  }
}
