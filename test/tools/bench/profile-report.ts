import { existsSync, renameSync } from 'node:fs'
import { join } from 'node:path'

// The markdown report of the CPU profiles of one scenario's measured windows (profile-window.ts): the
// functions with the most samples of their own, and the call tree down to half a percent, over all the
// windows together. Percentages are of every sample taken while the windows were open.

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  startTime: number
  endTime: number
}

interface Tree {
  self: number
  total: number
  children: Map<string, Tree>
}

const SHOWN = 0.005
const DEPTH = 14

function nameOf(frame: CallFrame): string {
  const where = frame.url ? `${frame.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|test)\//, '$1/')}:${frame.lineNumber + 1}` : 'native'
  return `\`${frame.functionName || '(anonymous)'}\` ${where}`
}

export function profileReport(title: string, profiles: CpuProfile[]): string {
  const root: Tree = { self: 0, total: 0, children: new Map() }
  const selfByFunction = new Map<string, number>()
  let samples = 0
  let seconds = 0
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
    const hits = new Map<number, number>()
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1)
    samples += profile.samples.length
    seconds += (profile.endTime - profile.startTime) / 1e6
    const walk = (id: number, into: Tree): number => {
      const node = nodes.get(id)!
      const name = nameOf(node.callFrame)
      let branch = into.children.get(name)
      if (!branch) into.children.set(name, (branch = { self: 0, total: 0, children: new Map() }))
      const own = hits.get(id) ?? 0
      branch.self += own
      selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + own)
      let subtree = own
      for (const child of node.children ?? []) subtree += walk(child, branch)
      branch.total += subtree
      return subtree
    }
    // The profile's own root is a frame of its own; its children are the tops of the stacks.
    for (const child of profile.nodes[0]?.children ?? []) root.total += walk(child, root)
  }
  const pct = (n: number) => `${((100 * n) / Math.max(1, samples)).toFixed(1)}%`
  const lines = [`# CPU profile: ${title}`, '', `${profiles.length} windows, ${seconds.toFixed(1)} s, ${samples} samples.`, '', '## Most samples of their own', '', '| self | function |', '|--:|---|']
  for (const [name, n] of [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, 40)) lines.push(`| ${pct(n)} | ${name} |`)
  lines.push('', '## Call tree (total, self)', '', '```')
  const print = (tree: Tree, depth: number) => {
    for (const [name, branch] of [...tree.children].sort((a, b) => b[1].total - a[1].total)) {
      if (branch.total < samples * SHOWN) continue
      lines.push(`${'  '.repeat(depth)}${pct(branch.total)} (${pct(branch.self)}) ${name.replaceAll('`', '')}`)
      if (depth < DEPTH) print(branch, depth + 1)
    }
  }
  print(root, 0)
  lines.push('```', '')
  return lines.join('\n')
}

/**
 * The bench's side of profile-window.ts: opens and closes the app's profiler around each measured HTTP
 * slice, and after a scenario writes its report (<store>-<scenario>.md) beside the windows' profiles.
 */
export function profileWindows(pid: number, dir: string, store: string) {
  let closed = 0
  let reported = 0
  return {
    async open() {
      process.kill(pid, 'SIGUSR2')
      // The profiler starts on the app's next turn of its event loop, well within this.
      await Bun.sleep(100)
    },
    async close() {
      process.kill(pid, 'SIGUSR2')
      const file = join(dir, `window-${++closed}.cpuprofile`)
      for (let waited = 0; !existsSync(file); waited += 50) {
        if (waited > 30_000) throw new Error(`the app wrote no profile ${file}`)
        await Bun.sleep(50)
      }
    },
    /** The report of the windows closed since the last one. */
    async report(scenario: string) {
      const files: string[] = []
      while (reported < closed) {
        const file = join(dir, `${store}-${scenario}-${files.length + 1}.cpuprofile`)
        renameSync(join(dir, `window-${++reported}.cpuprofile`), file)
        files.push(file)
      }
      if (!files.length) return
      const profiles = await Promise.all(files.map(async (f) => (await Bun.file(f).json()) as CpuProfile))
      await Bun.write(join(dir, `${store}-${scenario}.md`), profileReport(`${scenario} on ${store}`, profiles))
    },
  }
}

export type ProfileWindows = ReturnType<typeof profileWindows>
