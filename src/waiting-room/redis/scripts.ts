import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { keySlot, SLOTS, slotTag } from './slots'

// The Lua scripts of the Redis store, read once when this module is first imported. lib.lua is
// prepended to each, so the SHA that EVALSHA uses is that of the combined text.
export const scriptNames = ['join_many', 'poll_many', 'check', 'extend_many', 'shrink', 'finish', 'admit', 'set_sold_out', 'stats', 'end_session', 'settle_pre_queue'] as const
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

/**
 * Where the registry of lines (concert ids with anyone waiting or active) lives. On one Redis node (and on
 * Upstash) it is one set. On a Redis Cluster nothing may be global: a line's registry entry sits in a set
 * of its own slot, so join, admit and finish touch one slot, and listing the lines reads every slot's set.
 */
export interface LineRegistry {
  /** The registry set a line's scripts add it to and remove it from. */
  keyFor(concertId: string): string
  /** Every registry set, to list the lines. */
  keys(): string[]
}

export function singleRegistry(prefix: string): LineRegistry {
  const key = `${prefix}:lines`
  return { keyFor: () => key, keys: () => [key] }
}

export function perSlotRegistry(prefix: string): LineRegistry {
  const keyOfSlot = (slot: number) => `${prefix}:lines:{${slotTag(slot)}}`
  let all: string[] | null = null
  return {
    keyFor: (concertId) => keyOfSlot(keySlot(lineTag(concertId))),
    keys: () => (all ??= Array.from({ length: SLOTS }, (_, slot) => keyOfSlot(slot))),
  }
}

/** The hash tag every key of one line carries: one line, one slot. */
const lineTag = (concertId: string) => `{${concertId}}`

/** The twelve keys every per-line script receives, in the order lib.lua names them. */
export function lineKeys(prefix: string, concertId: string, registry: LineRegistry): string[] {
  const line = `${prefix}:${lineTag(concertId)}`
  return [
    `${line}:waiting`,
    `${line}:seen`,
    `${line}:active`,
    `${line}:active-seq`,
    `${line}:done`,
    `${line}:seq`,
    `${line}:sold-out`,
    `${line}:admits`,
    registry.keyFor(concertId),
    `${line}:joined`,
    `${line}:drawn`,
    `${line}:pace`,
  ]
}
