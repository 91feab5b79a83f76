// With WORKERS > 1 an instance is several processes, each with its own registry: a scrape answered by one
// of them (the API port spreads connections over them) showed one worker's counters, then another's, and
// Prometheus read the jumps as resets. So a scrape is answered for the whole instance: the supervisor asks
// every worker for its exposition over the IPC channel Bun.spawn opens, and merges them into one, each
// series labelled with the worker that counted it (no sum: a gauge such as the resident memory is per
// process, and a counter summed over workers would fall back when one restarts).

/** Messages between a supervisor and its workers. */
export type ScrapeMessage =
  | { kind: 'scrape'; id: number } // supervisor -> worker: your exposition, please
  | { kind: 'scraped'; id: number; text: string } // worker -> supervisor
  | { kind: 'gather'; id: number } // worker -> supervisor: the whole instance's, for a /metrics request
  | { kind: 'gathered'; id: number; text: string } // supervisor -> worker

const isMessage = (value: unknown): value is ScrapeMessage =>
  typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string' && typeof (value as { id?: unknown }).id === 'number'

/** How long a scrape waits for a worker (one being started again does not answer). */
export const WORKER_SCRAPE_TIMEOUT_MS = 2000

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/

/** A sample line with `worker="<index>"` added to its labels. */
function labelled(sample: string, worker: string): string {
  const name = METRIC_NAME.exec(sample)?.[0]
  if (!name) return sample
  const rest = sample.slice(name.length)
  const label = `worker="${worker}"`
  if (rest.startsWith('{}')) return `${name}{${label}}${rest.slice(2)}`
  if (rest.startsWith('{')) return `${name}{${label},${rest.slice(1)}`
  return `${name}{${label}}${rest}`
}

/**
 * One Prometheus text exposition from the workers' own (index -> text): each family once, its HELP and
 * TYPE first, then its samples from every worker in turn, as the text format requires of a family.
 */
export function mergeExpositions(byWorker: ReadonlyMap<string, string>): string {
  const families = new Map<string, { help?: string; type?: string; samples: string[] }>()
  const familyOf = (name: string) => {
    let family = families.get(name)
    if (!family) families.set(name, (family = { samples: [] }))
    return family
  }
  for (const [worker, text] of byWorker) {
    let family = familyOf('')
    for (const line of text.split('\n')) {
      const header = /^# (HELP|TYPE) (\S+)/.exec(line)
      if (header) {
        family = familyOf(header[2]!)
        // Every worker writes the same HELP and TYPE; the first one's stand for all.
        if (header[1] === 'HELP') family.help ??= line
        else family.type ??= line
      } else if (line !== '' && !line.startsWith('#')) {
        family.samples.push(labelled(line, worker))
      }
    }
  }
  const out: string[] = []
  for (const { help, type, samples } of families.values()) {
    if (help) out.push(help)
    if (type) out.push(type)
    out.push(...samples)
  }
  return out.length ? `${out.join('\n')}\n` : ''
}

/**
 * Questions sent over the IPC channel, each answered by a message that names its id; an answer that does
 * not come within `timeoutMs` (or a question that cannot be sent) is null.
 */
function questions() {
  const waiting = new Map<number, (text: string | null) => void>()
  let nextId = 1
  return {
    ask(send: (id: number) => void, timeoutMs: number): Promise<string | null> {
      const id = nextId++
      return new Promise((resolve) => {
        const done = (text: string | null) => {
          clearTimeout(timer)
          waiting.delete(id)
          resolve(text)
        }
        const timer = setTimeout(() => done(null), timeoutMs)
        waiting.set(id, done)
        try {
          send(id)
        } catch {
          done(null) // the other side is gone
        }
      })
    },
    answered(id: number, text: string) {
      waiting.get(id)?.(text)
    },
  }
}

/**
 * A worker's side: answers its supervisor's scrapes, and asks it for the whole instance's. `self` is this
 * worker's label, for the scrape it answers alone when the supervisor does not.
 */
export function supervisedScrapes(ownExposition: () => Promise<string>, self: string) {
  const asked = questions()
  process.on('message', async (message: unknown) => {
    if (!isMessage(message)) return
    if (message.kind === 'scrape') {
      const text = await ownExposition().catch(() => '')
      process.send?.({ kind: 'scraped', id: message.id, text } satisfies ScrapeMessage)
    } else if (message.kind === 'gathered') asked.answered(message.id, message.text)
  })
  return {
    /** The exposition of every worker of this instance (its own alone if the supervisor does not answer). */
    async gather(): Promise<string> {
      const text = await asked.ask((id) => process.send?.({ kind: 'gather', id } satisfies ScrapeMessage), WORKER_SCRAPE_TIMEOUT_MS * 2)
      return text ?? mergeExpositions(new Map([[self, await ownExposition()]]))
    },
  }
}

interface Worker {
  send(message: ScrapeMessage): void
}

/** A supervisor's side: scrapes its workers and merges what they answer. */
export function workerScrapes(workers: () => ReadonlyMap<number, Worker>) {
  const asked = questions()

  async function gather(): Promise<string> {
    const answers = await Promise.all(
      [...workers()].map(async ([index, worker]) => {
        const text = await asked.ask((id) => worker.send({ kind: 'scrape', id }), WORKER_SCRAPE_TIMEOUT_MS)
        return text === null ? null : ([String(index), text] as const)
      }),
    )
    return mergeExpositions(new Map(answers.filter((a) => a !== null).sort(([a], [b]) => Number(a) - Number(b))))
  }

  return {
    gather,
    /** A message from a worker: an answer to a scrape, or a request to gather for it. */
    async heard(message: unknown, from: Worker) {
      if (!isMessage(message)) return
      if (message.kind === 'scraped') asked.answered(message.id, message.text)
      else if (message.kind === 'gather') {
        const text = await gather()
        try {
          from.send({ kind: 'gathered', id: message.id, text })
        } catch {} // the worker is gone; nobody waits for it
      }
    },
  }
}
