// The SQLSTATEs our plpgsql functions raise when they decline an operation and undo what they did.
// Class CW ("concert waiting room") is outside every class Postgres itself uses. This is the one
// registry: sql/functions/*.sql raise these codes, services map them to their problems.
export const declines = {
  CW001: 'HOLD_EXPIRED',
  CW002: 'INSUFFICIENT_BALANCE',
} as const

export type Decline = (typeof declines)[keyof typeof declines]

/** The decline an error from Postgres stands for, or null if it is another error. */
export function declineOf(error: unknown): { decline: Decline; detail: string | undefined } | null {
  const { code, detail } = error as { code?: unknown; detail?: string }
  if (typeof code !== 'string' || !(code in declines)) return null
  return { decline: declines[code as keyof typeof declines], detail }
}
