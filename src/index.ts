import { ConfigError, loadConfig } from './config'
import { flush } from './log'
import { startServer } from './server'

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

const server = await startServer(config)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    server.log({ level: 'info', msg: 'shutting down', signal })
    await server.stop()
    flush()
    process.exit(0)
  })
}
