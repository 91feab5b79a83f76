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

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI identifying the problem type' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: OneOf(Object.keys(problemCatalogue) as ProblemCode[]),
    instance: Type.Optional(Type.String({ description: 'The request id, as urn:request:<id>' })),
  },
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

// Responses an operation can return besides its success. Every route lists them so that the OpenAPI
// document is complete and generated clients know every status.
export function errors(...codes: ProblemCode[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {}
  for (const code of ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR', ...codes] as ProblemCode[]) {
    out[problemCatalogue[code].status] = Problem
  }
  return out
}

export const bearer = [{ bearerAuth: [] }]
export const bearerAndQueue = [{ bearerAuth: [], queueToken: [] }]
