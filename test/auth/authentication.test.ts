// Every GraphQL request needs a valid API key, whatever it selects, on both engines: introspection and
// `{ __typename }` included, by POST and GET, single and batched. Without one (no key, an invented, malformed,
// expired or revoked key) the answer is 401 with the code UNAUTHENTICATED, localized, and nothing runs. Only
// the operational endpoints and the GraphiQL page itself answer without a key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, revokeApiKey } from "../../src/auth/api-keys.ts";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let fixture: ApiFixture;
let expiredKey: string;
let revokedKey: string;

beforeAll(async () => {
  fixture = await createApiFixture();
  const expiresAt = new Date(fixture.now().getTime() - 1);
  expiredKey = (
    await createApiKey(fixture.database, { tenantId: fixture.tenantId, name: "expired", scopes: ["read"], expiresAt })
  ).secret;
  const revoked = await createApiKey(fixture.database, {
    tenantId: fixture.tenantId,
    name: "revoked",
    scopes: ["read"],
  });
  await revokeApiKey(fixture.database, revoked.apiKey.id, fixture.now());
  revokedKey = revoked.secret;
});

afterAll(async () => {
  await fixture?.drop();
});

const introspection = [
  "{ __typename }",
  "{ __schema { queryType { name } } }",
  '{ __type(name: "DepositInput") { inputFields { name } } }',
  "query { ...F } fragment F on Query { __typename }",
];

function invalidKeys(): [string, string | null][] {
  return [
    ["no key", null],
    ["an invented key", "clk_invented_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["a malformed key", "not-a-key"],
    ["an expired key", expiredKey],
    ["a revoked key", revokedKey],
  ];
}

async function send(init: {
  method?: string;
  body?: unknown;
  key: string | null;
  query?: string;
  headers?: Record<string, string>;
}) {
  const headers: Record<string, string> = {
    accept: "application/graphql-response+json, application/json",
    ...init.headers,
  };
  if (init.key !== null) headers.authorization = `Bearer ${init.key}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const url =
    init.query === undefined
      ? "http://gateway.test/graphql"
      : `http://gateway.test/graphql?query=${encodeURIComponent(init.query)}`;
  const response = await fixture.gateway.fetch(url, {
    method: init.method ?? "POST",
    headers: { ...headers, "graphql-require-preflight": "1" },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

function expectUnauthenticated(result: Awaited<ReturnType<typeof send>>) {
  expect(result.status).toBe(401);
  expect(result.headers.get("www-authenticate")).toMatch(/^Bearer/);
  expect(result.body.data).toBeUndefined();
  expect(result.body.errors?.map((error) => error.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
  // Nothing of the schema leaks into a refusal.
  expect(result.text).not.toMatch(/inputFields|Query"|DepositInput/);
}

describe("a request without a valid key", () => {
  it("is refused for introspection and __typename alone, by POST", async () => {
    for (const [, key] of invalidKeys()) {
      for (const query of introspection) expectUnauthenticated(await send({ key, body: { query } }));
    }
  });

  it("is refused by GET", async () => {
    for (const [, key] of invalidKeys())
      expectUnauthenticated(await send({ method: "GET", key, query: "{ __typename }" }));
  });

  it("is refused as a whole when batched", async () => {
    for (const [, key] of invalidKeys()) {
      expectUnauthenticated(await send({ key, body: [{ query: "{ __typename }" }, { query: "{ apiVersion }" }] }));
    }
  });

  it("is refused for data and mutations too, and nothing is written", async () => {
    const before = await fixture.snapshot();
    for (const [, key] of invalidKeys()) {
      expectUnauthenticated(await send({ key, body: { query: "{ stores { edges { cursor } } }" } }));
      expectUnauthenticated(
        await send({ key, body: { query: 'mutation { createStore(input: { name: "Nope" }) { store { id } } }' } }),
      );
    }
    expect(await fixture.snapshot()).toBe(before);
  });

  it("is told so in the language of Accept-Language", async () => {
    const czech = await send({ key: null, body: { query: "{ __typename }" }, headers: { "accept-language": "cs" } });
    expect(czech.body.errors?.[0]?.message).toMatch(/platný API klíč/);
    const english = await send({ key: null, body: { query: "{ __typename }" } });
    expect(english.body.errors?.[0]?.message).toMatch(/valid API key/);
  });
});

describe("a request with a valid key", () => {
  it("may introspect (no scope beyond a valid key is needed)", async () => {
    for (const query of introspection) {
      const result = await send({ key: fixture.key, body: { query } });
      expect(result.status).toBe(200);
      expect(result.body.errors).toBeUndefined();
    }
  });
});

describe("what needs no key", () => {
  it("the GraphiQL page itself, and the operational endpoints", async () => {
    const page = await fixture.gateway.fetch("http://gateway.test/graphql", { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
    for (const path of ["/health", "/ready", "/metrics"]) {
      const response = await fixture.gateway.fetch(`http://gateway.test${path}`);
      expect(response.status, path).toBe(200);
    }
  });
});
