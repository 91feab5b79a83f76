// @elysiajs/swagger writes what Elysia can accept in general; this makes the document say what this API
// actually does, so generated SDKs and contract tests see the truth:
// - bodies are JSON only (every route parses JSON), successes are application/json and errors are
//   application/problem+json (RFC 9457);
// - query parameters are numbers and booleans, not "string or number" (Elysia coerces query text).
type Json = Record<string, any>

function tidyParameter(parameter: Json): Json {
  const schema = parameter.schema
  if (!schema?.anyOf) return parameter
  const typed = schema.anyOf.find((s: Json) => s.type !== 'string' || !s.format)
  if (!typed) return parameter
  const { anyOf, ...rest } = schema
  return { ...parameter, schema: { ...rest, ...typed } }
}

export function tidyOpenApi(doc: Json): Json {
  for (const item of Object.values(doc.paths ?? {}) as Json[]) {
    for (const operation of Object.values(item) as Json[]) {
      if (operation.parameters) operation.parameters = operation.parameters.map(tidyParameter)
      const body = operation.requestBody?.content?.['application/json']
      if (body) operation.requestBody.content = { 'application/json': body }
      for (const [status, response] of Object.entries(operation.responses ?? {}) as [string, Json][]) {
        const schema = response.content?.['application/json']?.schema
        if (!schema) continue
        delete response.$id
        response.description ??= Number(status) >= 400 ? 'Problem details' : 'Success'
        response.content = { [Number(status) >= 400 ? 'application/problem+json' : 'application/json']: { schema } }
      }
    }
  }
  return doc
}
