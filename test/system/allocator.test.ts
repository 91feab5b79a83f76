import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// What README ("Running at each size", CPU or memory) tells an operator about Bun's allocator: hole
// purging is on unless MIMALLOC_PURGE_HOLES=0 is in the environment the process starts with, and a .env
// file does not set it. Guards an upgrade of Bun that renames or drops the option, after which the
// setting would silently do nothing.

/** The value of purge_holes that mimalloc prints at the start of `bun -e 1` (MIMALLOC_VERBOSE). */
async function purgeHoles(env: Record<string, string>, cwd = tmpdir()) {
  const proc = Bun.spawn(['bun', '-e', '1'], {
    cwd,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', MIMALLOC_VERBOSE: '1', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  expect(await proc.exited).toBe(0)
  return [...(out + err).matchAll(/option 'purge_holes': (-?\d+)/g)].map((m) => Number(m[1]))
}

describe("Bun's allocator setting", () => {
  test('hole purging is on by default and off with MIMALLOC_PURGE_HOLES=0', async () => {
    expect(await purgeHoles({})).toEqual([1])
    expect(await purgeHoles({ MIMALLOC_PURGE_HOLES: '0' })).toEqual([0])
  })

  test('a .env file does not set it: the allocator reads the environment before Bun loads the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allocator-'))
    try {
      writeFileSync(join(dir, '.env'), 'MIMALLOC_PURGE_HOLES=0\n')
      expect(await purgeHoles({}, dir)).toEqual([1])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
