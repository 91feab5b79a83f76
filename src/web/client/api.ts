// Calls to the public API from the browser. Every answer comes back as data (never thrown), so each
// caller decides what a person should see for 409, 429, 503 and the rest.
export interface Problem {
  title?: string
  detail?: string
  code?: string
  status?: number
}

export interface Answer<T = any> {
  status: number
  ok: boolean
  body: T
  /** Seconds from Retry-After (429, 503), else null. */
  retryAfter: number | null
  /** The next page of a list (Link rel="next"), else null. */
  next: string | null
}

export interface Call {
  method?: string
  body?: unknown
  token?: string | null
  queueToken?: string | null
  idempotencyKey?: string
}

let signedOut: () => void = () => {}
/**
 * What to do when the API refuses the person's bearer token (401 UNAUTHENTICATED: expired, or not a token
 * it issued). Heard here, once for every call, so that no caller can leave the page signed in on a dead token.
 */
export function onSignedOut(listener: () => void) {
  signedOut = listener
}

export async function api<T = any>(path: string, call: Call = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (call.token) headers.authorization = `Bearer ${call.token}`
  if (call.queueToken) headers['x-queue-token'] = call.queueToken
  if (call.idempotencyKey) headers['idempotency-key'] = call.idempotencyKey
  if (call.body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(path, {
      method: call.method ?? (call.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
    })
  } catch {
    return { status: 0, ok: false, body: { title: 'No connection', detail: 'The server could not be reached. Check your connection.' } as T, retryAfter: 5, next: null }
  }
  let body: any = null
  try {
    body = await response.json()
  } catch {}
  if (response.status === 401 && call.token && body?.code === 'UNAUTHENTICATED') signedOut()
  const retry = Number(response.headers.get('retry-after'))
  const next = /<([^>]+)>\s*;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1] ?? null
  return { status: response.status, ok: response.ok, body, retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null, next }
}

/** What a person reads for a problem: its title, and the detail when it says more. */
export function problemText(answer: Answer): string {
  const p = (answer.body ?? {}) as Problem
  const title = p.title ?? `Something went wrong (${answer.status})`
  return p.detail && p.detail !== title ? `${title}: ${p.detail}` : title
}

const retryable = (answer: Answer) => answer.status === 429 || answer.status === 503 || answer.status === 0
export const secondsToWait = (answer: Answer) => answer.retryAfter ?? 2

/** What a person reads while the page waits out Retry-After: the problem's title and when it tries again. */
export function waitText(answer: Answer): string {
  const title = ((answer.body ?? {}) as Problem).title ?? (answer.status === 429 ? 'Too many requests' : 'The service is busy')
  return `${title}. Trying again in ${secondsToWait(answer)} s.`
}

export const codeOf = (answer: Answer): string | undefined => (answer.body as Problem | null)?.code

/**
 * Waits out Retry-After (429, 503, no connection), then tries again, up to `attempts` times. `onWait` hears
 * each wait, and null once a retry got an answer that is not a wait (so the notice can be taken back).
 */
export async function patiently<T>(attempt: () => Promise<Answer<T>>, onWait: (answer: Answer<T> | null) => void, attempts = 5): Promise<Answer<T>> {
  for (let i = 1; ; i++) {
    const answer = await attempt()
    if (i >= attempts || !retryable(answer)) {
      if (i > 1) onWait(null)
      return answer
    }
    onWait(answer)
    await new Promise((r) => setTimeout(r, secondsToWait(answer) * 1000))
  }
}
