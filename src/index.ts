import { ConfigError, loadConfig } from './config'
import { flush, jsonLog } from './log'
import { startServer } from './server'
import { isWorker, superviseWorkers } from './workers'

let config
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Invalid configuration: ${error.message}`)
    process.exit(1)
  }
  throw error
}

if (config.workers > 1 && !isWorker()) {
  await superviseWorkers(config.workers, jsonLog({ supervisor: process.pid }, config.logLevel), config.metricsPort)
}

const server = await startServer(config)
let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    // A worker may get the signal twice (from the terminal's process group and from its supervisor);
    // the second must not cut the drain short.
    if (stopping) return
    stopping = true
    server.log({ level: 'info', msg: 'shutting down', signal })
    await server.stop()
    flush()
    process.exit(0)
  })
}
