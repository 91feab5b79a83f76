import { expect, test } from 'bun:test'
import { theRow } from '../../src/db/statements'
import { ServiceError } from '../../src/errors'

// A statement that always answers one row and answered none was cut off (a connection closed under it,
// reliability check 10 saw it): a 503 with Retry-After, never a TypeError and a 500.
test('theRow gives the one row, and a 503 problem when there is none', () => {
  expect(theRow([{ balance: 5 }], 'get_balance')).toEqual({ balance: 5 })
  const error = (() => {
    try {
      theRow([], 'get_balance')
    } catch (e) {
      return e
    }
  })()
  expect(error).toBeInstanceOf(ServiceError)
  expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 })
  expect((error as Error).message).toContain('get_balance')
})
