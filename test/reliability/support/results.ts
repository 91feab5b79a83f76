import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

// Every reliability check writes its figures here (one JSON line each); `bun run reliability` prints the
// latest line of each check as one table. The directory is gitignored.
export const RESULTS_DIR = join(import.meta.dir, '..', '..', '..', '.reliability')
export const RESULTS_FILE = join(RESULTS_DIR, 'results.jsonl')

export type Figures = Record<string, number | string>

export interface Result {
  check: string
  title: string
  figures: Figures
  pass: boolean
  at: string
}

/**
 * Records a check's figures and prints its count line. Call it before the assertions, with `pass`
 * computed from the same figures, so a failing check is recorded as failing.
 */
export function record(check: number | string, title: string, figures: Figures, pass: boolean) {
  const line: Result = { check: String(check), title, figures, pass, at: new Date().toISOString() }
  mkdirSync(RESULTS_DIR, { recursive: true })
  appendFileSync(RESULTS_FILE, `${JSON.stringify(line)}\n`)
  const shown = Object.entries(figures)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')
  console.log(`[${check}] ${title}: ${shown} -> ${pass ? 'PASS' : 'FAIL'}`)
}
