// A minimal Server-Sent Events reader for tests and load tools: fetch() the stream and split it into
// events as the EventSource algorithm does (fields per line, a blank line ends an event).
export interface SseEvent {
  event: string
  data: string
  id: string | null
  /** performance.now() when the event was complete. */
  at: number
}

export interface SseStream {
  status: number
  headers: Headers
  /** The parsed body when the answer was not a stream (a problem). */
  problem: any
  events: SseEvent[]
  comments: string[]
  /** Resolves when the server ended the stream (or it broke). */
  ended: Promise<void>
  /** Resolves with the first event (counting from index `from`) that satisfies `match`. */
  next(match?: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>
  close(): void
}

/** `target` is a URL, or a function that makes the request (in-process tests: app.handle). */
export async function openSse(target: string | ((signal: AbortSignal) => Promise<Response>)): Promise<SseStream> {
  const abort = new AbortController()
  const response =
    typeof target === 'string'
      ? await fetch(target, { signal: abort.signal, headers: { accept: 'text/event-stream' } })
      : await target(abort.signal)
  const events: SseEvent[] = []
  const comments: string[] = []
  const waiters = new Set<() => void>()
  const notify = () => {
    for (const w of [...waiters]) w()
  }
  let problem: any = null
  let ended: Promise<void>
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const text = await response.text()
    try {
      problem = JSON.parse(text)
    } catch {
      problem = text
    }
    ended = Promise.resolve()
  } else {
    ended = (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      let current: Partial<SseEvent> & { data?: string } = {}
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          let newline: number
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).replace(/\r$/, '')
            buffer = buffer.slice(newline + 1)
            if (line === '') {
              if (current.data !== undefined) {
                events.push({ event: current.event ?? 'message', data: current.data, id: current.id ?? null, at: performance.now() })
                notify()
              }
              current = {}
            } else if (line.startsWith(':')) {
              comments.push(line.slice(1).trim())
            } else {
              const colon = line.indexOf(':')
              const field = colon < 0 ? line : line.slice(0, colon)
              const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
              if (field === 'data') current.data = current.data === undefined ? value : `${current.data}\n${value}`
              else if (field === 'event') current.event = value
              else if (field === 'id') current.id = value
            }
          }
        }
      } catch {
        // aborted by close(), or the connection broke
      } finally {
        notify()
      }
    })()
  }
  let done = false
  ended.then(() => {
    done = true
    notify()
  })
  return {
    status: response.status,
    headers: response.headers,
    problem,
    events,
    comments,
    ended,
    next(match = () => true, timeoutMs = 10_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.slice(from).find(match)
          if (found) {
            cleanup()
            resolve(found)
          } else if (done) {
            cleanup()
            reject(new Error(`stream ended without the event; got ${JSON.stringify(events.map((e) => e.data))}`))
          }
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.data))}`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    close: () => {
      abort.abort()
      response.body?.cancel().catch(() => {})
    },
  }
}

export const statusOf = (e: SseEvent) => JSON.parse(e.data) as { status: string; position: number | null; [k: string]: unknown }
