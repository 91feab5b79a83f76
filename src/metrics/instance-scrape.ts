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

/** A worker's side: answers its supervisor's scrapes, and asks it for the whole instance's. */
export function supervisedScrapes(ownExposition: () => Promise<string>) {
  const waiting = new Map<number, (text: string) => void>()
  let nextId = 1
  process.on('message', async (message: unknown) => {
    if (!isMessage(message)) return
    if (message.kind === 'scrape') {
      const text = await ownExposition().catch(() => '')
      process.send?.({ kind: 'scraped', id: message.id, text } satisfies ScrapeMessage)
    } else if (message.kind === 'gathered') {
      waiting.get(message.id)?.(message.text)
      waiting.delete(message.id)
    }
  })
  return {
    /** The exposition of every worker of this instance (its own alone if the supervisor does not answer). */
    gather(): Promise<string> {
      const id = nextId++
      return new Promise((resolve) => {
        const timer = setTimeout(async () => {
          waiting.delete(id)
          resolve(mergeExpositions(new Map([[process.env.CWR_WORKER_INDEX ?? '0', await ownExposition()]])))
        }, WORKER_SCRAPE_TIMEOUT_MS * 2)
        waiting.set(id, (text) => {
          clearTimeout(timer)
          resolve(text)
        })
        process.send?.({ kind: 'gather', id } satisfies ScrapeMessage)
      })
    },
  }
}

interface Worker {
  send(message: ScrapeMessage): void
}

/** A supervisor's side: scrapes its workers and merges what they answer. */
export function workerScrapes(workers: () => ReadonlyMap<number, Worker>) {
  const waiting = new Map<number, (text: string) => void>()
  let nextId = 1

  async function gather(): Promise<string> {
    const answers = await Promise.all(
      [...workers()].map(
        ([index, worker]) =>
          new Promise<[string, string] | null>((resolve) => {
            const id = nextId++
            const timer = setTimeout(() => {
              waiting.delete(id)
              resolve(null)
            }, WORKER_SCRAPE_TIMEOUT_MS)
            waiting.set(id, (text) => {
              clearTimeout(timer)
              resolve([String(index), text])
            })
            try {
              worker.send({ kind: 'scrape', id })
            } catch {
              clearTimeout(timer)
              waiting.delete(id)
              resolve(null)
            }
          }),
      ),
    )
    return mergeExpositions(new Map(answers.filter((a) => a !== null).sort(([a], [b]) => Number(a) - Number(b))))
  }

  return {
    gather,
    /** A message from a worker: an answer to a scrape, or a request to gather for it. */
    async heard(message: unknown, from: Worker) {
      if (!isMessage(message)) return
      if (message.kind === 'scraped') {
        waiting.get(message.id)?.(message.text)
        waiting.delete(message.id)
      } else if (message.kind === 'gather') {
        const text = await gather()
        try {
          from.send({ kind: 'gathered', id: message.id, text })
        } catch {} // the worker is gone; nobody waits for it
      }
    },
  }
}
