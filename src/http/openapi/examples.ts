import type { Json } from './schema'

// One example per model and per request body, shown by the docs page and checked against the schemas by
// Redocly (no-invalid-media-type-examples) in test/system/openapi/lint.test.ts, strictly: a field added to a
// model needs its value here too, and a field removed must go.
const concertId = '0b6f3c7e-2a59-4f6a-9d7e-5c1a8e3f4b21'
const scheduleId = '5d2e8a41-7c3b-4e9f-a1d6-3b8c9f0e7a54'
const reservationId = 'c8a1f2d3-4b5e-4c6d-8e7f-9a0b1c2d3e4f'
const paymentId = '7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9'
const entryId = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'

const queueStatus = {
  concertId,
  status: 'WAITING',
  position: 1204,
  estimatedWaitSeconds: 25,
  activeUntil: null,
  pollAfterMs: 5000,
  opensAt: null,
}

export const modelExamples: Json = {
  QueueStatus: queueStatus,
  QueueJoin: { ...queueStatus, token: 'q1.eyJjIjoiMGI2ZjNjN2UifQ.5b0c…' },
  ConcertSummary: { concertId, title: 'Spring Tour 2027 — Seoul', schedules: 2 },
  ScheduleSummary: { scheduleId, startsAt: '2027-05-01T19:00:00Z', totalSeats: 50, availableSeats: 37 },
  Seat: { number: 7, price: 120000, status: 'AVAILABLE' },
  SeatMapCompact: { seats: 8, status: 'AAHSAAAS', prices: [{ from: 1, to: 4, price: 150000 }, { from: 5, to: 8, price: 120000 }] },
  Reservation: {
    reservationId,
    scheduleId,
    seatNumber: 7,
    price: 120000,
    status: 'HELD',
    expiresAt: '2027-04-01T10:05:00Z',
    createdAt: '2027-04-01T10:00:00Z',
  },
  Balance: { balance: 300000 },
  Charge: { chargeId: entryId, amount: 300000, balance: 300000 },
  LedgerEntry: { entryId, type: 'PAYMENT', amount: -120000, balanceAfter: 180000, reservationId, paymentId, createdAt: '2027-04-01T10:01:00Z' },
  Payment: { paymentId, reservationId, amount: 120000, balance: 180000, status: 'PAID' },
  CreatedConcert: { concertId, schedules: [{ scheduleId }] },
  LineReadout: {
    concertId,
    paused: false,
    maxActive: 1000,
    admitPerSecond: 50,
    waiting: 12408,
    active: 1000,
    admittedLastMinute: 2950,
    oldestWaitSeconds: 248,
    soldOut: false,
    salesOpenAt: null,
  },
}
modelExamples.DevToken = { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl' }
modelExamples.LedgerPage = { entries: [modelExamples.LedgerEntry], nextCursor: null }

/** Examples of answers whose schema is not a named model, by operationId. */
export const answerExamples: Record<string, unknown> = {
  health: { status: 'ok' },
  ready: { status: 'ready', database: 'up', queueStore: 'redis-tcp' },
  endSession: { ended: true, holdsReleased: 1 },
}

export const bodyExamples: Record<string, Json> = {
  createDevUserToken: { userId: 'alice' },
  joinQueue: { concertId },
  holdSeat: { scheduleId, seatNumber: 7 },
  chargeBalance: { amount: 300000 },
  payReservation: { reservationId },
  createConcert: { title: 'Spring Tour 2027 — Seoul', schedules: [{ startsAt: '2027-05-01T19:00:00Z', seatCount: 50, price: 120000 }] },
  updateLine: { paused: true },
}
