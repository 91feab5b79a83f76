import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { firstLine, StartupError } from '../config'

export interface EmbeddedDatabase {
  url: string
  close(): Promise<void>
}

const procStat = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8')

// The fields of a /proc/<pid>/stat line from the third (the state) on: "pid (comm) S ...", and the name
// may hold spaces and parentheses, so they start after its last ')'.
const fieldsAfterName = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ')

// The short reason of a file-system error, without the path Node appends ("EEXIST: file already exists").
const reason = (error: unknown) => String((error as Error).message ?? error).split(', ')[0]

/**
 * Whether process `pid` still runs. A process killed with SIGKILL stays a zombie (state Z) until its
 * parent reaps it, and signal 0 still reaches a zombie: without the state check, a restart right after
 * `kill -9` would find the dead instance "alive" and refuse the data directory. `readStat` reads
 * /proc/<pid>/stat; where there is no /proc, signal 0 alone decides.
 */
export function processAlive(pid: number, readStat: (pid: number) => string = procStat): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists but belongs to another user; ESRCH: no such process.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  let stat: string
  try {
    stat = readStat(pid)
  } catch {
    return true
  }
  const state = fieldsAfterName(stat)[0]
  return state !== 'Z' && state !== 'X'
}

/** When process `pid` started (clock ticks after boot, /proc/<pid>/stat field 22), or null where it cannot be read. */
export function startedAt(pid: number, readStat: (pid: number) => string = procStat): string | null {
  try {
    return fieldsAfterName(readStat(pid))[19] ?? null
  } catch {
    return null
  }
}

// PGlite keeps its files in one directory and must never be opened by two processes at once;
// a pid file makes a second instance on the same DATA_DIR stop with a clear message. It holds the pid
// and when that process started: after a kill -9 the pid can be given to another process, which is
// alive but holds nothing (helper-58: a `sleep` that got the pid kept the directory locked until the
// file was removed by hand). A file without the start time (older instances) is judged by the pid alone.
function lockDataDir(dir: string): () => void {
  const lockFile = join(dir, 'instance.pid')
  let pid = 0
  let started: string | undefined
  try {
    const [pidText, startedText] = readFileSync(lockFile, 'utf8').trim().split(' ')
    pid = Number(pidText)
    started = startedText
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new StartupError(`DATA_DIR ${dir} cannot be read (${reason(error)})`)
  }
  const sameProcess = started === undefined || (startedAt(pid) ?? started) === started
  if (pid && pid !== process.pid && processAlive(pid) && sameProcess) {
    throw new StartupError(`DATA_DIR ${dir} is in use by process ${pid}; embedded mode serves one instance per data directory`)
  }
  try {
    writeFileSync(lockFile, [process.pid, startedAt(process.pid)].filter((part) => part !== null).join(' '))
  } catch (error) {
    throw new StartupError(`DATA_DIR ${dir} is not writable (${reason(error)})`)
  }
  return () => rmSync(lockFile, { force: true })
}

function makeDataDir(dir: string) {
  try {
    mkdirSync(dir, { recursive: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new StartupError(`DATA_DIR ${dir} is a file, not a directory`)
    if (code === 'ENOTDIR') throw new StartupError(`DATA_DIR ${dir} cannot be created: a part of its path is a file`)
    throw new StartupError(`DATA_DIR ${dir} cannot be created (${reason(error)})`)
  }
}

// Embedded mode: PGlite (Postgres compiled to WASM) persisted under DATA_DIR, served on a loopback
// socket so that postgres.js and the same SQL files run unchanged. PGlite serves one connection at a time.
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = resolve(dataDir)
  makeDataDir(dir)
  const unlock = lockDataDir(dir)
  let db: PGlite
  try {
    db = await PGlite.create(join(dir, 'pgdata'))
  } catch (error) {
    unlock()
    throw new StartupError(`DATA_DIR ${dir}: the embedded database in pgdata/ cannot be opened (${firstLine(error)})`)
  }
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
