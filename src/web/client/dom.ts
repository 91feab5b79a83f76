// A tiny element builder: enough for one page, no framework.
type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | ((event: Event) => void) | undefined>

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value)
    else if (value === true) el.setAttribute(name, '')
    else el.setAttribute(name, String(value))
  }
  append(el, ...children)
  return el
}

export function append(el: Element, ...children: Child[]) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    el.append(typeof child === 'object' ? child : String(child))
  }
}

export function replace(el: Element, ...children: Child[]) {
  el.replaceChildren()
  append(el, ...children)
}

export const won = (amount: number) => `${amount.toLocaleString('en-US')} won`

export function clock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const m = Math.floor(total / 60)
  const s = total % 60
  return `${m}:${String(s).padStart(2, '0')}`
}

export function aboutWait(seconds: number | null): string {
  if (seconds === null) return '—'
  if (seconds < 60) return 'under a minute'
  const minutes = Math.round(seconds / 60)
  if (minutes < 90) return `about ${minutes} min`
  return `about ${Math.round(minutes / 60)} h`
}

export const dateTime = (iso: string) =>
  new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(new Date(iso))

/**
 * Focuses `el` if the focus was lost: the element that had it was taken out of the page (a Release or Pay
 * button, the booking after the place expired), which leaves keyboard and screen-reader users at <body>.
 * Focus the user moved elsewhere meanwhile stays where it is.
 */
export function refocus(el: HTMLElement | null | undefined) {
  if (el && (document.activeElement === null || document.activeElement === document.body)) el.focus()
}
