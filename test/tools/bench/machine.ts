import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os'
import { serverVersion } from './database'
import { redisVersion } from './stores'

// What the numbers were measured on. No hostname: the CPU model, the core count and the versions.
export interface Machine {
  date: string
  bun: string
  postgres: string | null
  redis: string | null
  cores: number
  cpuModel: string
  memoryGb: number
  os: string
  embedded: boolean
  /** 1-minute load average when the run started: other work on the box shows here. */
  loadAverageAtStart: number
}

export async function machineInfo(o: { databaseUrl: string | null; redisUrl: string | null }): Promise<Machine> {
  const cpu = cpus()
  return {
    date: new Date().toISOString(),
    bun: Bun.version,
    postgres: o.databaseUrl ? await serverVersion(o.databaseUrl).catch(() => null) : 'embedded (PGlite)',
    redis: o.redisUrl ? await redisVersion(o.redisUrl) : null,
    cores: cpu.length,
    cpuModel: (cpu[0]?.model ?? 'unknown').trim(),
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    embedded: o.databaseUrl === null,
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
  }
}

export function machineLine(m: Machine): string {
  return (
    `${m.date.slice(0, 16).replace('T', ' ')} UTC | ${m.cores} cores ${m.cpuModel} | ${m.memoryGb} GB | Bun ${m.bun} |` +
    ` Postgres ${m.postgres ?? '-'} | Redis ${m.redis ?? '-'} | ${m.os} | load ${m.loadAverageAtStart} at start${m.embedded ? ' | EMBEDDED MODE (PGlite): not comparable' : ''}`
  )
}
