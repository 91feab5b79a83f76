import type { Subprocess } from 'bun'
import { join } from 'node:path'
import { ADMIN_KEY, TEST_SECRET } from './app'
import { freePort } from './ports'

// Real app processes (`bun src/index.ts`), as they run in production: several instances on different
// ports against one Postgres and one queue store. Their JSON log lines are kept for assertions.
export interface Instance {
  url: string
  port: number
  process: Subprocess<'ignore', 'pipe', 'pipe'>
  logs: Record<string, any>[]
  /** SIGKILL: no shutdown, connections die with the process. */
  kill(): void
  /** SIGTERM: graceful shutdown; resolves when the process has exited. */
  stop(): Promise<number>
}

const root = join(import.meta.dir, '..', '..')

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, newline))
      buffer = buffer.slice(newline + 1)
    }
  }
}

/**
 * `port`: a given one (a restarted instance takes its predecessor's place behind a load balancer).
 * Without one, a free port (support/ports.ts); should something else bind it before the instance does,
 * the instance starts again on another.
 */
export async function startInstance(env: Record<string, string>, timeoutMs = 30_000, port?: number): Promise<Instance> {
  if (port !== undefined) return launch(env, timeoutMs, port)
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(env, timeoutMs, freePort())
    } catch (error) {
      if (attempt === 3 || !String(error).includes('EADDRINUSE')) throw error
    }
  }
}

async function launch(env: Record<string, string>, timeoutMs: number, port: number): Promise<Instance> {
  const child = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? '/tmp',
      AUTH_JWT_SECRET: TEST_SECRET,
      ADMIN_API_KEY: ADMIN_KEY,
      AUTH_DEV_TOKENS: 'true',
      SEED_DEMO: 'false',
      ...env,
      PORT: String(port),
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const logs: Record<string, any>[] = []
  const stderr: string[] = []
  let listening!: () => void
  const ready = new Promise<void>((resolve) => (listening = resolve))
  void readLines(child.stdout, (line) => {
    try {
      const entry = JSON.parse(line)
      logs.push(entry)
      if (entry.msg === 'listening') listening()
    } catch {
      stderr.push(line)
    }
  })
  void readLines(child.stderr, (line) => stderr.push(line))
  const exited = child.exited.then((code) => {
    throw new Error(`instance exited with ${code} before listening:\n${stderr.join('\n')}`)
  })
  const timeout = Bun.sleep(timeoutMs).then(() => {
    throw new Error(`instance did not listen within ${timeoutMs} ms:\n${stderr.join('\n')}`)
  })
  await Promise.race([ready, exited, timeout])
  exited.catch(() => {})
  timeout.catch(() => {})
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    logs,
    kill: () => child.kill('SIGKILL'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? -1
      child.kill('SIGTERM')
      return child.exited
    },
  }
}

export function startInstances(n: number, env: Record<string, string>): Promise<Instance[]> {
  return Promise.all(Array.from({ length: n }, () => startInstance(env)))
}

export async function stopInstances(instances: Instance[]) {
  await Promise.all(
    instances.map(async (i) => {
      const stopped = await Promise.race([i.stop(), Bun.sleep(10_000).then(() => null)])
      if (stopped === null) i.kill()
    }),
  )
}

/** fetch() against an instance with the same call shape as test/support/app.ts. */
export async function http(base: string, path: string, c: { method?: string; token?: string; queueToken?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...c.headers }
  if (c.token) headers.authorization = `Bearer ${c.token}`
  if (c.queueToken) headers['x-queue-token'] = c.queueToken
  let body: string | undefined
  if (c.body !== undefined) {
    body = JSON.stringify(c.body)
    headers['content-type'] = 'application/json'
  }
  const response = await fetch(`${base}${path}`, { method: c.method ?? (body ? 'POST' : 'GET'), headers, body })
  const text = await response.text()
  let parsed: any = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: response.status, headers: response.headers, body: parsed, text }
}

/**
 * Sends `request` over a raw socket, as written (for what fetch will not send: pipelined requests,
 * control characters, repeated headers), and returns whatever came back before the connection closed or
 * `waitMs` passed.
 */
export async function rawExchange(port: number, request: string, waitMs = 3000): Promise<string> {
  let received = ''
  let closed!: () => void
  const ended = new Promise<void>((resolve) => (closed = resolve))
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: { data: (_s, bytes) => void (received += bytes.toString()), close: () => closed(), error: () => closed() },
  })
  socket.write(request)
  await Promise.race([ended, Bun.sleep(waitMs)])
  socket.end()
  return received
}
