import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

// The Lua scripts of the Redis store, read once when this module is first imported. lib.lua is
// prepended to each, so the SHA that EVALSHA uses is that of the combined text.
export const scriptNames = ['join', 'poll', 'check', 'extend', 'finish', 'admit', 'set_sold_out', 'lines', 'stats', 'end_session'] as const
export type ScriptName = (typeof scriptNames)[number]

export interface Script {
  name: ScriptName
  text: string
  sha: string
}

const read = (name: string) => readFileSync(join(import.meta.dir, `${name}.lua`), 'utf8')
const lib = read('lib')

export const scripts = Object.fromEntries(
  scriptNames.map((name) => {
    const text = `${lib}\n${read(name)}`
    return [name, { name, text, sha: createHash('sha1').update(text).digest('hex') }]
  }),
) as Record<ScriptName, Script>

/** The global registry of lines (lines.lua's only key). */
export const registryKey = (prefix: string) => `${prefix}:lines`

/** The ten keys every per-line script receives, in the order lib.lua names them. */
export function lineKeys(prefix: string, concertId: string): string[] {
  const tag = `{${prefix}:${concertId}}`
  return [
    `${tag}:waiting`,
    `${tag}:seen`,
    `${tag}:active`,
    `${tag}:active-seq`,
    `${tag}:done`,
    `${tag}:seq`,
    `${tag}:sold-out`,
    `${tag}:admits`,
    registryKey(prefix),
    `${tag}:joined`,
  ]
}
