import { join } from 'node:path'
import { runLoad } from './driver'
import { encodeRequest, HttpConnection } from './http-client'
import { freePort, httpReady, spawnChild } from './processes'
import type { Settings } from './scenarios/common'
import { cleanEnv } from './stores'

// The HTTP ceiling: what the server stack itself can do on this machine, now. A tiny Elysia server
// (ceiling-server.ts) in a child process like the app, one GET route returning small JSON, driven by
// the same driver with the same number of connections. Store ceilings are per scenario: each scenario
// names its own direct statements / store calls (scenarios/*.ts), run by the same driver.

export async function httpCeiling(settings: Settings, logDir: string) {
  const port = await freePort()
  const server = await spawnChild({
    name: 'http-ceiling',
    argv: ['bun', join(import.meta.dir, 'ceiling-server.ts')],
    env: { ...cleanEnv(), PORT: String(port) },
    port,
    logDir,
    ready: () => httpReady(port, '/'),
  })
  try {
    const request = encodeRequest(`127.0.0.1:${port}`, { method: 'GET', path: '/' })
    const connections = Array.from({ length: settings.concurrency }, () => new HttpConnection('127.0.0.1', port))
    const result = await runLoad(
      settings,
      connections.map((c) => async () => {
        const response = await c.send(request)
        if (response.status !== 200) throw new Error(`${response.status}`)
      }),
    )
    for (const c of connections) c.close()
    return result
  } finally {
    await server.stop()
  }
}
