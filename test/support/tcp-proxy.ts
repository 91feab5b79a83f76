import type { Socket, TCPSocketListener } from 'bun'

// A TCP proxy in front of Redis or Postgres that a test can break in the ways a network breaks:
//   down()   the server is gone: connections are dropped and new ones refused;
//   freeze() the server hangs: connections stay open (new ones are accepted) but nothing gets through;
//   up()     the server is back; what frozen connections sent is delivered now, as after a long pause.
export interface TcpProxy {
  readonly port: number
  readonly url: string
  up(): void
  down(): void
  freeze(): void
  stop(): void
}

interface Pipe {
  peer?: Socket<Pipe>
  /** Bytes for `peer` that did not fit yet (or arrived before it connected). */
  backlog: Uint8Array[]
}

function send(to: Socket<Pipe> | undefined, chunk: Uint8Array, backlog: Uint8Array[]) {
  if (!to || backlog.length > 0) return void backlog.push(chunk)
  const written = to.write(chunk)
  if (written < chunk.length) backlog.push(chunk.subarray(Math.max(0, written)))
}

function flush(to: Socket<Pipe>, backlog: Uint8Array[]) {
  while (backlog.length > 0) {
    const chunk = backlog[0]!
    const written = to.write(chunk)
    if (written < chunk.length) {
      backlog[0] = chunk.subarray(Math.max(0, written))
      return
    }
    backlog.shift()
  }
}

export function tcpProxy(targetUrl: string): TcpProxy {
  const target = new URL(targetUrl)
  const sockets = new Set<Socket<Pipe>>()
  let listener: TCPSocketListener<Pipe> | null = null
  let frozen = false
  let held: (() => void)[] = []
  let port = 0

  const whenThawed = (action: () => void) => (frozen ? held.push(action) : action())

  function connectUpstream(client: Socket<Pipe>) {
    Bun.connect<Pipe>({
      hostname: target.hostname,
      port: Number(target.port || 6379),
      data: { peer: client, backlog: [] },
      socket: {
        open(upstream) {
          sockets.add(upstream)
          client.data.peer = upstream
          flush(upstream, client.data.backlog)
        },
        data(upstream, chunk) {
          const copy = new Uint8Array(chunk)
          whenThawed(() => send(client, copy, upstream.data.backlog))
        },
        drain(upstream) {
          flush(upstream, client.data.backlog)
        },
        close(upstream) {
          sockets.delete(upstream)
          client.end()
        },
        error() {
          client.end()
        },
      },
    }).catch(() => client.end())
  }

  function listen() {
    listener = Bun.listen<Pipe>({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(client) {
          sockets.add(client)
          client.data = { backlog: [] }
          whenThawed(() => connectUpstream(client))
        },
        data(client, chunk) {
          const copy = new Uint8Array(chunk)
          whenThawed(() => send(client.data.peer, copy, client.data.backlog))
        },
        drain(client) {
          const upstream = client.data.peer
          if (upstream) flush(client, upstream.data.backlog)
        },
        close(client) {
          sockets.delete(client)
          client.data.peer?.end()
        },
        error(client) {
          client.data.peer?.end()
        },
      },
    })
    port = listener.port
  }

  function drop() {
    held = []
    listener?.stop(true)
    listener = null
    for (const socket of sockets) socket.terminate()
    sockets.clear()
  }

  listen()
  return {
    get port() {
      return port
    },
    get url() {
      const url = new URL(targetUrl)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return url.toString()
    },
    up() {
      frozen = false
      for (const action of held.splice(0)) action()
      if (!listener) listen()
    },
    down() {
      frozen = false
      drop()
    },
    freeze() {
      frozen = true
      if (!listener) listen()
    },
    stop() {
      drop()
    },
  }
}
