import { expect, test } from 'bun:test'
import { isAsync } from 'elysia/compose'
import { onFreshDatabase } from '../support/app'
import { describeWith } from '../support/services'

// Elysia decides when it composes a route whether to await a hook, from the hook's text: an async
// function, or one whose text has `return f(`, `=> f(`, "async" or "await" anywhere, is awaited on every
// request, and one such hook anywhere in a route's chain makes the whole handler async. The hooks every
// request passes through are written to be taken for synchronous (a value to return is named first,
// then returned); a change that makes one look async again costs every request a promise and an await.
// This checks them the way Elysia does, with its own function.

type Hook = { fn: (...args: never[]) => unknown } | ((...args: never[]) => unknown)
const source = (hook: Hook) => ('fn' in hook ? hook.fn : hook).toString().slice(0, 120)

describeWith(['DATABASE_URL'], 'hooks on every request', () => {
  const ctx = onFreshDatabase()

  test('Elysia takes every global hook of a request that succeeds for synchronous', () => {
    const event = (ctx.server.app as unknown as { event: Record<string, Hook[] | undefined> }).event
    const everyRequest = ['request', 'transform', 'beforeHandle', 'afterHandle', 'mapResponse', 'afterResponse']
    const hooks = everyRequest.flatMap((phase) => (event[phase] ?? []).map((hook) => ({ phase, hook })))
    expect(hooks.length).toBeGreaterThanOrEqual(7)
    expect(hooks.filter(({ hook }) => isAsync(hook as never)).map(({ phase, hook }) => `${phase}: ${source(hook)}`)).toEqual([])
  })

  test("the bearer check of an authenticated route (the auth macro's transform and resolve) too", () => {
    const routes = (ctx.server.app as unknown as { routes: { method: string; path: string; hooks: Record<string, Hook[] | undefined> }[] }).routes
    const poll = routes.find((r) => r.method === 'GET' && r.path === '/v1/queue/status')!
    const own = ['transform', 'beforeHandle'].flatMap((phase) => (poll.hooks[phase] ?? []).map((hook) => ({ phase, hook })))
    expect(own.length).toBeGreaterThanOrEqual(2)
    expect(own.filter(({ hook }) => isAsync(hook as never)).map(({ phase, hook }) => `${phase}: ${source(hook)}`)).toEqual([])
  })
})
