import { Elysia } from 'elysia'

// The HTTP ceiling: the same server stack as the app (Elysia on Bun), one GET route returning small JSON,
// nothing else. Started by the bench as a child process, like the app, and driven by the same driver.
const port = Number(process.env.PORT ?? 0)
new Elysia().get('/', () => ({ status: 'ok', service: 'bench-ceiling' })).listen({ port, hostname: '127.0.0.1' })
