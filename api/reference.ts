import { currentOpenApiDocument } from './openapi-document';

/**
 * `docs/api.md`, the REST reference kept in the repository: the conventions and the environment (from the
 * project's contract) and, generated from the OpenAPI document the API serves, every route that exists today.
 * `npm run docs:api` rewrites it; a unit test fails when it is out of date.
 */

const CONVENTIONS = `## Conventions

- Base path \`/api\`. JSON in and out, UTF-8. A request body is parsed as JSON whatever its
  \`Content-Type\` (curl's \`-d\` sends form encoding), except multipart uploads; a body that is not valid
  JSON is a 400 (\`invalid_json\`), never treated as empty.
- Auth: \`Authorization: Bearer fj_live_<secret>\` on every route except the ones marked **public**. A key
  belongs to one org; everything a key sees is scoped to that org. A key from another org gets \`404\` for a
  foreign id (never \`403\`, never the object). Get a key with \`npm run cli -- api-keys create --org <name>\`.
- Field names are camelCase (the analytics answers keep the snake_case shapes the product spec gives them).
  Ids are UUIDs. Timestamps are ISO-8601 strings in UTC.
- Errors: \`{"error": {"code": "<snake_case>", "message": "<human sentence>", "details": <optional>}}\` with
  400 (malformed JSON), 401 (no or bad key), 404, 409 (conflict, e.g. a name already taken), 422
  (validation: \`details\` lists each bad field with its \`path\`), 429 (rate limited, with \`Retry-After\`),
  503 (a dependency such as Temporal or the database is down). Never a stack trace, never a 500 for bad
  input.
- Lists: \`{"data": [...], "nextCursor": "<opaque>|null"}\`; \`?limit=\` (1–200, default 50) and \`?cursor=\`.
- JSONPath (step \`inputMapping\`, \`conditionExpr\`) runs over \`{input, steps: {<name>: {output, status}}}\`:
  one match gives the value, none \`null\`, several the array; filters such as \`$.items[?(@.price > 10)]\` are
  allowed (comparisons only: no calls or assignments), script expressions \`[(...)]\` are not.

The interactive version of this reference is served at \`GET /docs\`, the OpenAPI 3.1 document at
\`GET /api/openapi.json\`, and \`GET /\` lists both.

## Environment

| variable | meaning | default |
| --- | --- | --- |
| \`PORT\` | HTTP port of the API | \`3000\` |
| \`DATABASE_URL\` | PostgreSQL URL | unset: the dev stack starts an embedded PostgreSQL |
| \`TEMPORAL_ADDRESS\` | Temporal frontend \`host:port\` | unset: the dev stack starts the Temporal dev server from \`temporal-dev.yaml\` |
| \`TEMPORAL_NAMESPACE\` | namespace | \`default\` |
| \`FLAPJACK_BOOTSTRAP_API_KEY\` | at start-up, make sure this exact key (\`fj_live_\` + 24 or more of \`[A-Za-z0-9_-]\`) exists for the org \`default\` | unset |
| \`FLAPJACK_EGRESS_ALLOWLIST\` | comma-separated hosts/IPs/CIDRs that webhook steps, custom tools and MCP-over-HTTP may reach although private or loopback | empty: private, loopback and link-local targets are refused |
| \`FLAPJACK_SECRET_KEY\` | 32 random bytes, base64: encrypts stored credentials. Required by \`npm run api\` and \`npm run worker\`, which stop at start-up without it | the dev stack generates one into \`.data/secret-key\` |
| \`OPENAI_API_KEY\`, \`OPENAI_BASE_URL\` | OpenAI-compatible provider | official endpoint |
| \`ANTHROPIC_API_KEY\`, \`ANTHROPIC_BASE_URL\` | Anthropic Messages provider | official endpoint |
`;

interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string }>;
}
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  description?: string;
}

const typeOf = (s: JsonSchema | undefined): string => {
  if (!s) return 'any';
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (Array.isArray(s.type)) return s.type.join(' \\| ');
  return s.type ?? 'any';
};

function bodyFields(op: Operation): string {
  const content = op.requestBody?.content ?? {};
  const [contentType, media] = Object.entries(content)[0] ?? [];
  const props = media?.schema?.properties;
  if (!contentType || !props) return '';
  const required = new Set(media.schema?.required ?? []);
  const fields = Object.entries(props).map(([name, s]) => `\`${name}\`${required.has(name) ? '' : '?'}: ${typeOf(s)}`);
  return `${contentType === 'application/json' ? '' : `${contentType}: `}${fields.join(', ')}`;
}

/** The markdown of `docs/api.md` for an OpenAPI document. */
export function renderApiReference(openapi: { paths: Record<string, Record<string, Operation>> }): string {
  const byTag = new Map<string, string[]>();
  for (const [p, methods] of Object.entries(openapi.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'other';
      const statuses = Object.keys(op.responses ?? {})
        .filter((s) => !['401', '429', '503'].includes(s))
        .join(', ');
      const auth = op.security && op.security.length === 0 ? ' **public**' : '';
      // A query parameter with a closed set of values lists them (e.g. `period` (7d, 30d, 90d)).
      const query = (op.parameters ?? [])
        .filter((x) => x.in === 'query')
        .map((x) => {
          const values = (x.schema as { enum?: unknown[] } | undefined)?.enum;
          return `\`${x.name}\`${values ? ` (${values.map(String).join(', ')})` : ''}`;
        });
      const row = [
        `\`${method.toUpperCase()} ${p}\`${auth}`,
        (op.summary ?? '').replace(/\|/g, '\\|'),
        [bodyFields(op), query.length ? `query: ${query.join(', ')}` : ''].filter(Boolean).join('; '),
        statuses,
      ];
      (byTag.get(tag) ?? byTag.set(tag, []).get(tag))?.push(`| ${row.join(' | ')} |`);
    }
  }
  const sections = [...byTag.entries()].map(
    ([tag, rows]) =>
      `### ${tag}\n\n| route | what it does | request | answers |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`,
  );
  return [
    '# REST API reference',
    '',
    '<!-- Generated by `npm run docs:api` from the OpenAPI document the API serves (api/reference.ts). Do not edit by hand. -->',
    '',
    'Every route listed here exists today; fields and answers are those of `GET /api/openapi.json`, where the',
    'full schemas are. Every non-public route can also answer 401, 429 and 503.',
    '',
    CONVENTIONS,
    '## Routes',
    '',
    ...sections,
  ].join('\n');
}

/** The reference of the API as this checkout builds it (no database or Temporal needed: nothing is called). */
export function currentApiReference(): string {
  return renderApiReference(currentOpenApiDocument() as Parameters<typeof renderApiReference>[0]);
}
