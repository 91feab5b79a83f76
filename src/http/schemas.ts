import { Type, type SchemaOptions, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox'
import { problemCatalogue, type ProblemCode } from './problems'

// Bodies use plain TypeBox types: Elysia's `t` would quietly coerce "5" into 5, and a money field that
// accepts strings is a bug. Query strings are text by nature and use Elysia's coercing types instead.

/** A string that is one of `values` (for schemas Elysia does not type handlers against). */
export function OneOf<const T extends readonly string[]>(values: T, options?: SchemaOptions) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnion<TLiteral<T[number]>[]>
}

const problemFields = {
  type: Type.String({ description: 'URI identifying the problem type' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  instance: Type.Optional(Type.String({ description: 'The request id, as urn:request:<id>' })),
}

export const Problem = Type.Object(
  { ...problemFields, code: OneOf(Object.keys(problemCatalogue) as ProblemCode[]) },
  { title: 'Problem', description: 'RFC 9457 problem details' },
)

// A UUID in its canonical 8-4-4-4-12 form, any hex case; decoded to lower case before any use, so one
// concert is one line, one set of settings and one session whatever its spelling. Other forms (a
// `urn:uuid:` prefix, braces, no hyphens) are refused here: Postgres would accept some of them and
// refuse others with an error.
const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
export const Uuid = (description?: string) =>
  Type.Transform(Type.String({ format: 'uuid', pattern: UUID_PATTERN, description }))
    .Decode((id) => id.toLowerCase())
    .Encode((id) => id)

/**
 * A UUID this service sends (always Postgres's canonical lower-case form). A plain string schema, not the
 * transform above: Elysia walks every answer whose schema has a transform through TypeBox's Encode, a
 * dynamic tree walk that cost a poll several µs; a plain schema is checked by compiled code.
 */
export const SentUuid = (description?: string) => Type.String({ format: 'uuid', pattern: UUID_PATTERN, description })

/** Codes every operation can answer: the edge, the rate limit and the backing services decide them. */
export const ALWAYS_POSSIBLE: ProblemCode[] = ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR']

// Responses an operation can return besides its success, one per status, each a Problem whose `code`
// is narrowed to the codes of that status this operation can give: generated clients then know every
// status and every code, and a code the operation cannot return does not compile.
export function errors(...codes: ProblemCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, ProblemCode[]>()
  for (const code of new Set([...ALWAYS_POSSIBLE, ...codes])) {
    const status = problemCatalogue[code].status
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  const out: Record<number, TSchema> = {}
  for (const [status, list] of byStatus) {
    out[status] = Type.Object({ ...problemFields, code: OneOf(list) }, { title: 'Problem', description: 'RFC 9457 problem details' })
  }
  return out
}

export const bearer = [{ bearerAuth: [] }]
export const bearerAndQueue = [{ bearerAuth: [], queueToken: [] }]
