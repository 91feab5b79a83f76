import { Type, type Static } from '@sinclair/typebox'
import { SentUuid, Uuid } from '../http/schemas'

// The payments' models: the one source of their TypeScript types, validation and OpenAPI components.

export const Payment = Type.Object(
  {
    paymentId: SentUuid(),
    reservationId: SentUuid(),
    amount: Type.Integer({ description: 'won debited' }),
    balance: Type.Integer({ description: 'balance after the payment, won' }),
    status: Type.Literal('PAID'),
  },
  { title: 'Payment' },
)
export type Payment = Static<typeof Payment>

export const PaymentRequest = Type.Object({ reservationId: Uuid() }, { additionalProperties: false })
