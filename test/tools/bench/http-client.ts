import type { Socket } from 'bun'

// A minimal HTTP/1.1 keep-alive client over Bun.connect: one request in flight per connection, no
// pipelining. fetch() costs several times more CPU per request, and on a 2-core box the load generator
// shares the cores with the app and the database, so a cheaper client leaves the measured stack more room.
// The HTTP ceiling is driven by this same client, so whatever it costs is in both sides of the ratio.

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  headers?: Record<string, string>
  /** Sent as JSON. */
  body?: unknown
}

export interface HttpResponse {
  status: number
  text: string
}

const REQUEST_TIMEOUT_MS = 30_000
const HEADER_END = Buffer.from('\r\n\r\n')
const CONTENT_LENGTH = Buffer.from('\r\nContent-Length: ')
const CONNECTION_CLOSE = Buffer.from('\r\nConnection: close')

export class HttpError extends Error {}

/** The `code` of a problem+json body, or the status alone: a short label for error tallies. */
export function describeFailure(response: HttpResponse): string {
  try {
    const code = (JSON.parse(response.text) as { code?: string }).code
    return code ? `${response.status} ${code}` : `${response.status}`
  } catch {
    return `${response.status}`
  }
}

export function json<T>(response: HttpResponse): T {
  return JSON.parse(response.text) as T
}

export function encodeRequest(host: string, r: HttpRequest): Buffer {
  let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${host}\r\n`
  for (const [name, value] of Object.entries(r.headers ?? {})) head += `${name}: ${value}\r\n`
  if (r.body === undefined) return Buffer.from(`${head}\r\n`, 'latin1')
  const body = Buffer.from(JSON.stringify(r.body))
  return Buffer.concat([Buffer.from(`${head}content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`, 'latin1'), body])
}

interface Pending {
  resolve: (r: HttpResponse) => void
  reject: (e: Error) => void
  sentAt: number
}

// One sweeper for request timeouts: a timer per request would cost more than the request's parsing.
const open = new Set<HttpConnection>()
let sweeper: ReturnType<typeof setInterval> | null = null
function watch(connection: HttpConnection) {
  open.add(connection)
  sweeper ??= setInterval(() => {
    const now = performance.now()
    for (const c of open) c.expire(now)
  }, 1000)
  sweeper.unref()
}

export class HttpConnection {
  private socket: Socket<undefined> | null = null
  private buffer: Buffer | null = null
  private unsent: Buffer | null = null
  private pending: Pending | null = null
  private closeAfter = false

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      Bun.connect({
        hostname: this.host,
        port: this.port,
        socket: {
          open: (socket) => {
            this.socket = socket
            watch(this)
            resolve()
          },
          data: (_socket, chunk) => this.onData(chunk),
          drain: () => this.flush(),
          close: () => this.onClosed(new HttpError('connection closed by the server')),
          error: (_socket, error) => this.onClosed(error),
          connectError: (_socket, error) => reject(error),
        },
      }).catch(reject)
    })
  }

  async request(r: HttpRequest): Promise<HttpResponse> {
    return this.send(encodeRequest(`${this.host}:${this.port}`, r))
  }

  /** Sends an already encoded request (see encodeRequest) and waits for its response. */
  async send(bytes: Buffer): Promise<HttpResponse> {
    if (this.pending) throw new HttpError('one request at a time per connection')
    if (!this.socket) await this.connect()
    return new Promise<HttpResponse>((resolve, reject) => {
      this.pending = { resolve, reject, sentAt: performance.now() }
      this.buffer = null
      this.unsent = bytes
      this.flush()
    })
  }

  close() {
    open.delete(this)
    this.socket?.end()
    this.socket = null
  }

  expire(now: number) {
    if (this.pending && now - this.pending.sentAt > REQUEST_TIMEOUT_MS) {
      this.fail(new HttpError(`no response within ${REQUEST_TIMEOUT_MS} ms`))
    }
  }

  private flush() {
    if (!this.unsent || !this.socket) return
    const written = this.socket.write(this.unsent)
    this.unsent = written >= this.unsent.length ? null : this.unsent.subarray(Math.max(0, written))
  }

  private fail(error: Error) {
    const pending = this.pending
    this.pending = null
    this.buffer = null
    this.socket?.terminate()
    this.socket = null
    pending?.reject(error)
  }

  private onClosed(error: Error) {
    this.socket = null
    if (this.pending) this.fail(error)
  }

  private onData(chunk: Buffer) {
    if (!this.pending) return // stray bytes after a timeout; the socket is being dropped anyway
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk
    const parsed = this.parse(this.buffer)
    if (!parsed) return
    const pending = this.pending
    this.pending = null
    this.buffer = null
    if (this.closeAfter) {
      this.closeAfter = false
      this.socket?.end()
      this.socket = null
    }
    pending.resolve(parsed)
  }

  /** A complete response from the buffer, or null while more bytes are needed. */
  private parse(buf: Buffer): HttpResponse | null {
    const headerEnd = buf.indexOf(HEADER_END)
    if (headerEnd < 0) return null
    const status = (buf[9]! - 48) * 100 + (buf[10]! - 48) * 10 + (buf[11]! - 48)
    const bodyStart = headerEnd + 4
    // Fast path: Bun writes "Content-Length" in this spelling; anything else takes the general path.
    const at = buf.indexOf(CONTENT_LENGTH)
    if (at >= 0 && at < headerEnd) {
      let length = 0
      for (let i = at + CONTENT_LENGTH.length; buf[i]! >= 48 && buf[i]! <= 57; i++) length = length * 10 + buf[i]! - 48
      if (buf.length < bodyStart + length) return null
      this.closeAfter = buf.indexOf(CONNECTION_CLOSE) >= 0 && buf.indexOf(CONNECTION_CLOSE) < headerEnd
      return { status, text: buf.toString('utf8', bodyStart, bodyStart + length) }
    }
    const head = buf.toString('latin1', 0, headerEnd).toLowerCase()
    this.closeAfter = head.includes('\r\nconnection: close')
    const lengthAt = head.indexOf('\r\ncontent-length:')
    if (lengthAt >= 0) {
      const length = Number.parseInt(head.slice(lengthAt + 17).trimStart(), 10)
      if (buf.length < bodyStart + length) return null
      return { status, text: buf.toString('utf8', bodyStart, bodyStart + length) }
    }
    if (head.includes('\r\ntransfer-encoding: chunked')) return parseChunked(buf, bodyStart, status)
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, text: '' }
    // No length and not chunked: the body ends when the server closes; none of the servers here do that.
    this.fail(new HttpError('response without content-length or chunked encoding'))
    return null
  }
}

function parseChunked(buf: Buffer, start: number, status: number): HttpResponse | null {
  const parts: Buffer[] = []
  let at = start
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at)
    if (lineEnd < 0) return null
    const size = Number.parseInt(buf.toString('latin1', at, lineEnd), 16)
    if (Number.isNaN(size)) throw new HttpError('bad chunk size')
    const dataStart = lineEnd + 2
    if (size === 0) {
      if (buf.length < dataStart + 2) return null
      return { status, text: Buffer.concat(parts).toString('utf8') }
    }
    if (buf.length < dataStart + size + 2) return null
    parts.push(buf.subarray(dataStart, dataStart + size))
    at = dataStart + size + 2
  }
}

/** A fixed set of keep-alive connections shared by many concurrent callers (seeding, sellout users). */
export class HttpPool {
  private readonly idle: HttpConnection[] = []
  private readonly waiters: ((c: HttpConnection) => void)[] = []

  constructor(host: string, port: number, size: number) {
    for (let i = 0; i < size; i++) this.idle.push(new HttpConnection(host, port))
  }

  async request(r: HttpRequest): Promise<HttpResponse> {
    const connection = this.idle.pop() ?? (await new Promise<HttpConnection>((resolve) => this.waiters.push(resolve)))
    try {
      return await connection.request(r)
    } finally {
      const next = this.waiters.shift()
      if (next) next(connection)
      else this.idle.push(connection)
    }
  }

  close() {
    for (const c of this.idle) c.close()
  }
}
