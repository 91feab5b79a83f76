// A local Upstash-compatible REST front for a real Redis, for development and tests:
//
//   bun run redis:rest        REDIS_URL [redis://127.0.0.1:6379], PORT [8079], TOKEN [dev-upstash-token],
//                             HOST [0.0.0.0] (the address it listens on)
//   UPSTASH_REDIS_REST_URL=http://127.0.0.1:8079 UPSTASH_REDIS_REST_TOKEN=dev-upstash-token bun run start
//
// It speaks the part of the Upstash REST protocol that @upstash/redis uses:
//   POST /             body ["CMD", "arg", ...]           -> {"result": ...} | 400 {"error": "..."}
//   POST /pipeline     body [["CMD", ...], ...]           -> [{"result": ...} | {"error": "..."}, ...]
//   POST /multi-exec   body [["CMD", ...], ...] (atomic)   -> the same, or 400 {"error"} if Redis aborted it
//   GET  /cmd/arg/...  path-style single command (handy with curl)
// Every request needs `Authorization: Bearer <TOKEN>` (else 401). With `Upstash-Encoding: base64`
// (which @upstash/redis sends by default) every string in a result is base64-encoded. When Redis is
// unreachable the answer is 503 {"error"}.
//
// It talks RESP2 over one pipelined connection, like Upstash's own replies (flat HGETALL, string
// scores); commands that would change that connection's state or block it are refused.
import type { Socket } from 'bun'
import { timingSafeEqual } from 'node:crypto'

export const DEV_TOKEN = 'dev-upstash-token'
const COMMAND_TIMEOUT_MS = 5000
const CONNECT_TIMEOUT_MS = 2000

const REFUSED = new Set([
  'subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'monitor', 'quit',
  'hello', 'reset', 'select', 'auth', 'client', 'multi', 'exec', 'discard', 'watch', 'unwatch', 'blpop',
  'brpop', 'blmove', 'brpoplpush', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'wait', 'waitaof',
])

// ---- RESP2 ----------------------------------------------------------------------------------------

class ReplyError {
  constructor(readonly message: string) {}
}
class Status {
  constructor(readonly text: string) {}
}
type Reply = Buffer | Status | number | null | ReplyError | Reply[]

function encodeCommand(args: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'utf8')
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** Parses one reply at `pos`; undefined when the buffer does not hold all of it yet. */
function parseReply(buf: Buffer, pos: number): [Reply, number] | undefined {
  const eol = buf.indexOf('\r\n', pos)
  if (eol < 0) return undefined
  const line = buf.toString('utf8', pos + 1, eol)
  const next = eol + 2
  switch (buf[pos]) {
    case 0x2b: // +
      return [new Status(line), next]
    case 0x2d: // -
      return [new ReplyError(line), next]
    case 0x3a: // :
      return [Number(line), next]
    case 0x24: {
      // $
      const length = Number(line)
      if (length < 0) return [null, next]
      if (buf.length < next + length + 2) return undefined
      return [Buffer.from(buf.subarray(next, next + length)), next + length + 2]
    }
    case 0x2a: {
      // *
      const count = Number(line)
      if (count < 0) return [null, next]
      const items: Reply[] = []
      let at = next
      for (let i = 0; i < count; i++) {
        const parsed = parseReply(buf, at)
        if (!parsed) return undefined
        items.push(parsed[0])
        at = parsed[1]
      }
      return [items, at]
    }
    default:
      throw new Error(`unexpected RESP byte ${buf[pos]}`)
  }
}

interface Pending {
  resolve: (reply: Reply) => void
  reject: (error: Error) => void
}

class Unreachable extends Error {}

/** One pipelined RESP2 connection; replaced by a fresh one whenever it fails or stops answering. */
class RespConnection {
  private buffer = Buffer.alloc(0)
  private pending: Pending[] = []
  private unsent: Buffer[] = []
  private dead = false

  private constructor(private socket: Socket<unknown>) {}

  static async open(url: URL): Promise<RespConnection> {
    let conn: RespConnection | undefined
    let gaveUp = false
    const connecting = Bun.connect({
      hostname: url.hostname,
      port: Number(url.port || 6379),
      tls: url.protocol === 'rediss:',
      socket: {
        data: (_s, chunk) => conn?.receive(chunk),
        drain: () => conn?.flush(),
        close: () => conn?.fail(new Unreachable('connection to Redis closed')),
        error: (_s, error) => conn?.fail(new Unreachable(`connection to Redis failed: ${error.message}`)),
      },
    }).then(
      (socket) => {
        if (gaveUp) socket.end()
        return socket
      },
      (error: Error) => {
        throw new Unreachable(`no connection to Redis: ${error.message}`)
      },
    )
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        gaveUp = true
        reject(new Unreachable(`no connection to Redis within ${CONNECT_TIMEOUT_MS} ms`))
      }, CONNECT_TIMEOUT_MS)
    })
    const socket = await Promise.race([connecting, timeout]).finally(() => clearTimeout(timer))
    conn = new RespConnection(socket)
    const setup: string[][] = []
    if (url.password) setup.push(url.username ? ['AUTH', decodeURIComponent(url.username), decodeURIComponent(url.password)] : ['AUTH', decodeURIComponent(url.password)])
    const db = url.pathname.replace('/', '')
    if (db) setup.push(['SELECT', db])
    if (setup.length > 0) {
      for (const reply of await conn.send(setup)) {
        if (reply instanceof ReplyError) {
          conn.fail(new Unreachable(reply.message))
          throw new Unreachable(`Redis refused the connection setup: ${reply.message}`)
        }
      }
    }
    return conn
  }

  get alive() {
    return !this.dead
  }

  /** Writes the commands in one go (so a MULTI ... EXEC batch is never interleaved) and awaits every reply. */
  send(commands: string[][]): Promise<Reply[]> {
    if (this.dead) return Promise.reject(new Unreachable('connection to Redis is closed'))
    const replies = commands.map(
      () => new Promise<Reply>((resolve, reject) => this.pending.push({ resolve, reject })),
    )
    this.unsent.push(Buffer.concat(commands.map(encodeCommand)))
    this.flush()
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.fail(new Unreachable(`Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`))
        reject(new Unreachable(`Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`))
      }, COMMAND_TIMEOUT_MS)
    })
    return Promise.race([Promise.all(replies), timeout]).finally(() => clearTimeout(timer))
  }

  close() {
    this.fail(new Unreachable('closed'))
  }

  private flush() {
    while (this.unsent.length > 0 && !this.dead) {
      const chunk = this.unsent[0]!
      const written = this.socket.write(chunk)
      if (written < chunk.length) {
        this.unsent[0] = chunk.subarray(Math.max(0, written))
        return // the rest goes out on drain
      }
      this.unsent.shift()
    }
  }

  private receive(chunk: Buffer) {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk])
    let pos = 0
    try {
      while (pos < this.buffer.length) {
        const parsed = parseReply(this.buffer, pos)
        if (!parsed) break
        pos = parsed[1]
        this.pending.shift()?.resolve(parsed[0])
      }
    } catch (error) {
      this.fail(new Unreachable(`bad reply from Redis: ${(error as Error).message}`))
      return
    }
    this.buffer = this.buffer.subarray(pos)
  }

  private fail(error: Error) {
    if (this.dead) return
    this.dead = true
    for (const p of this.pending.splice(0)) p.reject(error)
    this.unsent = []
    this.socket.end()
  }
}

// ---- HTTP -----------------------------------------------------------------------------------------

export interface RedisRestOptions {
  redisUrl?: string
  port?: number
  hostname?: string
  token?: string
}

export interface RedisRest {
  url: string
  port: number
  token: string
  stop(): Promise<void>
}

type Json = string | number | null | Json[] | { result?: Json; error?: string }

function toJson(reply: Reply, base64: boolean): Json {
  if (reply === null || typeof reply === 'number') return reply
  if (reply instanceof Status) return base64 ? Buffer.from(reply.text).toString('base64') : reply.text
  if (reply instanceof ReplyError) return reply.message
  if (Array.isArray(reply)) return reply.map((r) => toJson(r, base64))
  return base64 ? reply.toString('base64') : reply.toString('utf8')
}

function entry(reply: Reply, base64: boolean): { result: Json } | { error: string } {
  return reply instanceof ReplyError ? { error: reply.message } : { result: toJson(reply, base64) }
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

class BadRequest extends Error {}

function command(raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new BadRequest('ERR a command is a non-empty JSON array')
  const args = raw.map((a) => {
    if (typeof a === 'string') return a
    if (typeof a === 'number' || typeof a === 'boolean') return String(a)
    throw new BadRequest('ERR command arguments must be strings or numbers')
  })
  if (REFUSED.has(args[0]!.toLowerCase())) throw new BadRequest(`ERR ${args[0]} is not supported by this REST front`)
  return args
}

function commands(raw: unknown): string[][] {
  if (!Array.isArray(raw) || raw.length === 0) throw new BadRequest('ERR expected a non-empty JSON array of commands')
  return raw.map(command)
}

/** Starts the REST front in this process (port 0 = any free port). */
export function startRedisRest(options: RedisRestOptions = {}): RedisRest {
  const redisUrl = new URL(options.redisUrl ?? 'redis://127.0.0.1:6379')
  const token = options.token ?? DEV_TOKEN
  const expected = Buffer.from(`Bearer ${token}`)
  let conn: RespConnection | null = null
  let opening: Promise<RespConnection> | null = null

  async function connection(): Promise<RespConnection> {
    if (conn?.alive) return conn
    opening ??= RespConnection.open(redisUrl)
      .then((c) => (conn = c))
      .finally(() => (opening = null))
    return opening
  }

  const authorized = (req: Request) => {
    const given = Buffer.from(req.headers.get('authorization') ?? '')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  async function handle(req: Request): Promise<Response> {
    if (!authorized(req)) return json({ error: 'Unauthorized' }, 401)
    const base64 = req.headers.get('upstash-encoding')?.toLowerCase() === 'base64'
    const path = new URL(req.url).pathname
    try {
      if (req.method === 'POST' && (path === '/pipeline' || path === '/multi-exec')) {
        const batch = commands(await req.json().catch(() => null))
        if (path === '/pipeline') {
          const replies = await (await connection()).send(batch)
          return json(replies.map((r) => entry(r, base64)))
        }
        const replies = await (await connection()).send([['MULTI'], ...batch, ['EXEC']])
        const exec = replies[replies.length - 1]!
        if (!Array.isArray(exec)) return json({ error: exec instanceof ReplyError ? exec.message : 'ERR transaction aborted' }, 400)
        return json(exec.map((r) => entry(r, base64)))
      }
      let args: string[]
      if (req.method === 'POST' && path === '/') args = command(await req.json().catch(() => null))
      else if (req.method === 'GET' && path.length > 1) args = command(path.slice(1).split('/').map(decodeURIComponent))
      else return json({ error: 'ERR unknown endpoint' }, 404)
      const [reply] = await (await connection()).send([args])
      return reply instanceof ReplyError ? json({ error: reply.message }, 400) : json({ result: toJson(reply!, base64) })
    } catch (error) {
      if (error instanceof BadRequest) return json({ error: error.message }, 400)
      if (error instanceof Unreachable) return json({ error: `Redis is unreachable: ${error.message}` }, 503)
      return json({ error: `internal error: ${(error as Error).message}` }, 500)
    }
  }

  const server = Bun.serve({ port: options.port ?? 8079, hostname: options.hostname ?? '127.0.0.1', fetch: handle })
  const url = `http://${server.hostname}:${server.port}`
  return {
    url,
    port: server.port!,
    token,
    async stop() {
      await server.stop(true)
      conn?.close()
    },
  }
}

if (import.meta.main) {
  const port = Number(process.env.PORT ?? 8079)
  const front = startRedisRest({
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    port,
    hostname: process.env.HOST ?? '0.0.0.0',
    token: process.env.TOKEN ?? DEV_TOKEN,
  })
  console.log(
    `Upstash-compatible REST front on ${front.url} for ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}` +
      (process.env.TOKEN ? '' : ` (dev token "${DEV_TOKEN}"; set TOKEN to change it)`),
  )
}
