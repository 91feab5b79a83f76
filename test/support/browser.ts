import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { createTestDatabase, type TestDatabase } from './database'
import { startInstance, type Instance } from './instances'
import { requireServices, serviceUrl } from './services'

// Headless Chromium for the page's browser tests: the browser, a person (a fresh context at phone width
// that records script errors and CSP refusals), keyboard-only navigation and an axe-core check.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const haveChromium = existsSync(CHROMIUM)
if (!haveChromium && requireServices) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`)

export const launchChromium = () =>
  chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] })

export interface Person {
  name: string
  page: Page
  /** Script errors, console errors and CSP refusals seen so far. */
  problems: string[]
  close(): Promise<void>
}

export async function person(browser: Browser, name: string): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(String(e)))
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text())
  })
  return { name, page, problems, close: () => context.close() }
}

/** Presses Tab (at most 200 times) until the element matching `selector` has the focus. */
export async function tabTo(page: Page, selector: string) {
  for (let i = 0; i < 200; i++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reached ${selector}`)
}

let axeSource: string | null = null

export async function seriousViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(join(import.meta.dir, '..', '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')
  // evaluate() runs over the DevTools protocol, which the page's CSP does not restrict (a script tag would be refused).
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => {
    const axe = (globalThis as any).axe
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }))
  })
  return result.filter((v: any) => v.impact === 'serious' || v.impact === 'critical').map((v: any) => `${v.id} (${v.nodes}): ${v.help}`)
}

/**
 * The instance the page tests drive, on a database of its own and the configured Redis: admission every
 * second at 10 a second; `env` adds what one suite needs.
 */
export async function pageInstance(env: Record<string, string> = {}): Promise<{ db: TestDatabase; instance: Instance }> {
  const db = await createTestDatabase(serviceUrl('DATABASE_URL')!)
  const instance = await startInstance({
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '4',
    REDIS_URL: serviceUrl('REDIS_URL')!,
    QUEUE_TICK_MS: '1000',
    QUEUE_ADMIT_PER_SECOND: '10',
    ...env,
  })
  return { db, instance }
}
