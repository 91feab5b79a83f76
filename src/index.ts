import { ConfigError, loadConfig, startupFailure, type Config } from './config'
import { flush, jsonLog } from './log'
import { startServer } from './server'
import { isWorker, STARTUP_FAILED, superviseWorkers } from './workers'

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
  await superviseWorkers(config.workers, jsonLog({ supervisor: process.pid }, config.logLevel), config.metricsPort).catch((error) => stopStart(error, config))
}

const server = await startServer(config).catch((error) => stopStart(error, config))
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

// A cause outside the process (a port taken, DATA_DIR a file, the database unreachable) ends the start with
// one line naming the variable to fix, as a bad value does; anything else is a bug and keeps its stack.
function stopStart(error: unknown, config: Config): never {
  const line = startupFailure(error, config)
  if (line === null) throw error
  console.error(`Cannot start: ${line}`)
  flush()
  // A worker says so to its supervisor, which then stops the instance rather than start it again and again.
  process.exit(isWorker() ? STARTUP_FAILED : 1)
}
