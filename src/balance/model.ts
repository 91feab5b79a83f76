import { Type, type Static } from '@sinclair/typebox'
import { SentUuid } from '../http/schemas'

// The balance's models: the one source of their TypeScript types, validation and OpenAPI components.
// Money is an integer number of won everywhere.

const Money = (description: string) => Type.Integer({ description })

export const BalanceBody = Type.Object({ balance: Money('won') }, { title: 'Balance' })

export const chargeRequestModel = (maxCharge: number) =>
  Type.Object({ amount: Type.Integer({ minimum: 1, maximum: maxCharge, description: 'won' }) }, { additionalProperties: false })

export const Charge = Type.Object(
  { chargeId: SentUuid(), amount: Money('won added'), balance: Money('balance after the charge, won') },
  { title: 'Charge' },
)
export type Charge = Static<typeof Charge>

export const LedgerEntry = Type.Object(
  {
    entryId: SentUuid(),
    type: Type.Union([Type.Literal('CHARGE'), Type.Literal('PAYMENT')]),
    amount: Money('signed: positive for charges, negative for payments'),
    balanceAfter: Money('balance after this entry'),
    reservationId: Type.Union([SentUuid(), Type.Null()]),
    paymentId: Type.Union([SentUuid(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { title: 'LedgerEntry' },
)
export type LedgerEntry = Static<typeof LedgerEntry>

export const LedgerPage = Type.Object(
  { entries: Type.Array(LedgerEntry), nextCursor: Type.Union([Type.String(), Type.Null()]) },
  { title: 'LedgerPage' },
)
export type LedgerPage = Static<typeof LedgerPage>
