import { Session } from 'node:inspector'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

// Preloaded into the app instances of a `bun run bench --profile` run (bun --preload): a CPU profile of
// the measured windows only. `bun --cpu-prof` profiles the whole life of the process, and seeding (users
// made and admitted over HTTP, tokens issued) outweighed the scenario in it. SIGUSR2 starts the
// profiler; the next SIGUSR2 stops it and writes window-<n>.cpuprofile to BENCH_PROFILE_DIR (written
// under another name first and renamed, so the bench never reads half a file).

const dir = process.env.BENCH_PROFILE_DIR
if (dir) {
  const session = new Session()
  session.connect()
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))))
  let running = false
  let windows = 0
  process.on('SIGUSR2', async () => {
    try {
      if (!running) {
        running = true
        await post('Profiler.enable')
        await post('Profiler.setSamplingInterval', { interval: 250 })
        await post('Profiler.start')
        return
      }
      running = false
      const { profile } = await post<{ profile: unknown }>('Profiler.stop')
      const file = join(dir, `window-${++windows}.cpuprofile`)
      writeFileSync(`${file}.part`, JSON.stringify(profile))
      renameSync(`${file}.part`, file)
    } catch (error) {
      console.error(`profile window: ${error}`)
    }
  })
}
