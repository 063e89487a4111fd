// Query limits (depth, aliases, tokens, directives, cost), batching and request size, each refused with a
// stable `extensions.code`; and the cost every response reports in `extensions.cost`.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createLedger } from "../../src/ledger/index.ts";
import { startHttpServer } from "../../src/server/http.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let testDatabase: TestDatabase;
let gateway: Gateway;
let key: string;
const config = loadConfig({
  LOG_LEVEL: "silent",
  MAX_QUERY_DEPTH: "5",
  MAX_ALIASES: "3",
  MAX_TOKENS: "200",
  MAX_DIRECTIVES: "2",
  MAX_QUERY_COST: "1000",
  MAX_BATCH_SIZE: "2",
  MAX_REQUEST_BYTES: "2048",
});

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  const ledger = createLedger(testDatabase.database);
  const created = await ledger.createTenant({
    name: "Limited merchant",
    timeZone: "Europe/Prague",
    defaultLocale: "en",
  });
  if (!created.ok) throw new Error(created.error.message);
  key = (
    await createApiKey(testDatabase.database, {
      tenantId: created.tenant.id,
      name: "limits",
      scopes: ["read", "write"],
    })
  ).secret;
  gateway = createGateway({ database: testDatabase.database, ledger, config });
});

afterAll(async () => {
  await testDatabase?.drop();
});

interface Body {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
  extensions?: { cost?: { requestedQueryCost: number; maximumAvailable: number } };
}

async function post(payload: unknown, target: Gateway = gateway): Promise<{ status: number; body: Body }> {
  const response = await target.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json",
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify(payload),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

async function expectRefused(query: string, code: string, status = 400) {
  const { status: actual, body } = await post({ query });
  expect(actual).toBe(status);
  expect(body.data).toBeUndefined();
  expect(body.errors?.map((error) => error.extensions?.code)).toContain(code);
  return body;
}

describe("document limits", () => {
  it("refuses a query nested deeper than MAX_QUERY_DEPTH with QUERY_TOO_DEEP", async () => {
    const body = await expectRefused(
      "{ customers { edges { node { history { edges { node { id } } } } } } }",
      "QUERY_TOO_DEEP",
    );
    expect(body.errors?.[0]?.message).toMatch(/depth limit of 5/);
    expect((await post({ query: "{ customers { edges { node { id } } } }" })).status).toBe(200);
  });

  it("refuses more aliases than MAX_ALIASES with TOO_MANY_ALIASES", async () => {
    await expectRefused("{ a: apiVersion b: apiVersion c: apiVersion d: apiVersion }", "TOO_MANY_ALIASES");
  });

  it("refuses a document of more than MAX_TOKENS tokens with TOO_MANY_TOKENS, before validating it", async () => {
    // Unknown fields: the token limit refuses the document while parsing, before validation could.
    await expectRefused(`{ ${"x ".repeat(250)} }`, "TOO_MANY_TOKENS");
  });

  it("refuses more directives than MAX_DIRECTIVES with TOO_MANY_DIRECTIVES", async () => {
    await expectRefused("{ apiVersion @include(if: true) @include(if: true) @skip(if: false) }", "TOO_MANY_DIRECTIVES");
  });

  it("hides field suggestions only when introspection is off", async () => {
    const open = await post({ query: "{ apiVersio }" });
    expect(open.body.errors?.[0]?.message).toMatch(/Did you mean "apiVersion"/);
    const closed = createGateway({ database: testDatabase.database, config: { ...config, introspection: false } });
    const response = await closed.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ apiVersio }" }),
    });
    expect(await response.text()).not.toContain("apiVersion");
  });
});

describe("query cost", () => {
  const customers = (page: string) => `{ customers${page} { edges { node { id name } } pageInfo { hasNextPage } } }`;

  it("reports the cost in extensions.cost, multiplying a connection by its page size", async () => {
    const cost = async (query: string, variables?: Record<string, unknown>) => {
      const { status, body } = await post({ query, variables });
      expect(status, `${query} ${JSON.stringify(body)}`).toBe(200);
      expect(body.extensions?.cost?.maximumAvailable).toBe(1000);
      return body.extensions!.cost!.requestedQueryCost;
    };
    expect(await cost("{ apiVersion }")).toBe(0);
    // One for the connection, then per entry: edges (1) + node (1); pageInfo (1) is counted per entry too.
    expect(await cost(customers("(first: 1)"))).toBe(1 + 1 * 3);
    expect(await cost(customers(""))).toBe(1 + 20 * 3);
    expect(await cost(customers("(first: 50)"))).toBe(1 + 50 * 3);
    expect(await cost(customers("(last: 7)"))).toBe(1 + 7 * 3);
    // Page sizes given as variables count the same.
    expect(await cost("query ($n: Int) { customers(first: $n) { edges { node { id } } } }", { n: 30 })).toBe(
      1 + 30 * 2,
    );
    // Costs are remembered per document: the same document with another page size (directly, through a
    // fragment, or as an id list) costs anew, while variables the cost does not read leave it as it was.
    const sized = "query ($n: Int) { ...Page } fragment Page on Query { customers(first: $n) { edges { cursor } } }";
    expect(await cost(sized, { n: 3 })).toBe(1 + 3 * 1);
    expect(await cost(sized, { n: 40 })).toBe(1 + 40 * 1);
    expect(await cost(sized, { n: 3 })).toBe(1 + 3 * 1);
    const byIds = "query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { accounts { id } } } }";
    const unknown = (index: number) => Buffer.from(`Customer:unknown-${index}`).toString("base64");
    expect(await cost(byIds, { ids: [unknown(1)] })).toBe(1 + 1 * 1);
    expect(await cost(byIds, { ids: [unknown(1), unknown(2), unknown(3)] })).toBe(1 + 3 * 1);
    const named = "query ($q: String) { customers(first: 5, search: $q) { edges { node { id } } } }";
    expect(await cost(named, { q: "a" })).toBe(1 + 5 * 2);
    expect(await cost(named, { q: "b" })).toBe(1 + 5 * 2);
  });

  it("refuses an operation costing more than MAX_QUERY_COST with QUERY_TOO_COSTLY", async () => {
    // A connection inside a connection multiplies: 1 + 100 × (edges 1 + node 1 + history (1 + 100 × 2)).
    // The depth limit is raised so that only the cost refuses the query.
    const deeper = createGateway({ database: testDatabase.database, config: { ...config, maxQueryDepth: 12 } });
    const query = "{ customers(first: 100) { edges { node { history(first: 100) { edges { node { id } } } } } } }";
    const { status, body } = await post({ query }, deeper);
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COSTLY");
    expect(body.extensions?.cost).toEqual({ requestedQueryCost: 1 + 100 * (2 + 1 + 100 * 2), maximumAvailable: 1000 });
  });

  // Fragments spread inside fragments: a few hundred bytes that expand to 10^4 fields. The estimator gives up
  // on such a document; the guard must then refuse it (fail closed), not run it unchecked.
  const spreads = (name: string, times: number) => Array.from({ length: times }, () => `...${name}`).join(" ");
  const fanOut = (levels: number) =>
    [
      "fragment P0 on Query { __typename }",
      ...Array.from(
        { length: levels },
        (_, level) => `fragment P${level + 1} on Query { ${spreads(`P${level}`, 10)} }`,
      ),
    ].join("\n");

  it("refuses a document whose cost cannot be estimated with QUERY_TOO_COMPLEX, cheap or costly", async () => {
    const roomy = createGateway({
      database: testDatabase.database,
      config: { ...config, maxTokens: 3000, maxQueryDepth: 12 },
    });
    for (const selection of [
      "apiVersion",
      "customers(first: 100) { edges { node { history(first: 100) { edges { node { id } } } } } }",
    ]) {
      const { status, body } = await post({ query: `query { ${selection} ...P4 }\n${fanOut(4)}` }, roomy);
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(body.errors?.map((error) => error.extensions?.code)).toEqual(["QUERY_TOO_COMPLEX"]);
    }
    // Inside a batch, inside a mutation's selection and behind a named operation alike.
    const batch = await post([{ query: "{ apiVersion }" }, { query: `query { ...P4 }\n${fanOut(4)}` }], roomy);
    expect((batch.body as unknown as Body[])[1]?.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    const named = await post(
      { query: `query Other { apiVersion } query Padded { ...P4 }\n${fanOut(4)}`, operationName: "Padded" },
      roomy,
    );
    expect(named.body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    // A smaller fan-out the estimator can follow is costed as usual (__typename costs nothing).
    const small = await post({ query: `query { ...P2 }\n${fanOut(2)}` }, roomy);
    expect(small.status).toBe(200);
    expect(small.body.extensions?.cost?.requestedQueryCost).toBe(0);
  });

  it("leaves invalid variables to execution, which reports them with their own code", async () => {
    const { body } = await post({
      query: "query ($n: Int) { customers(first: $n) { edges { cursor } } }",
      variables: { n: "many" },
    });
    expect(body.errors?.[0]?.extensions?.code).not.toBe("QUERY_TOO_COMPLEX");
    expect(body.data).toBeUndefined();
  });

  it("counts aliases, directives and depth through every spread of a fragment", async () => {
    // The neighbours of the cost guard, on the same kind of document: each spread of a fragment counts again.
    const aliases = await post({ query: "query { ...A ...A } fragment A on Query { a: apiVersion b: apiVersion }" });
    expect(aliases.body.errors?.map((error) => error.extensions?.code)).toContain("TOO_MANY_ALIASES");
    const directives = await post({
      query: "query { ...D ...D } fragment D on Query { apiVersion @include(if: true) apiVersion @skip(if: false) }",
    });
    expect(directives.body.errors?.map((error) => error.extensions?.code)).toContain("TOO_MANY_DIRECTIVES");
    const depth = await post({
      query:
        "query { ...C } fragment C on Query { customers { edges { node { ...H } } } } " +
        "fragment H on Customer { history { edges { node { id } } } }",
    });
    expect(depth.body.errors?.map((error) => error.extensions?.code)).toContain("QUERY_TOO_DEEP");
  });

  it("costs a batch by its number of items, also when the same document comes back with another number", async () => {
    // Found from outside: the cost was remembered per document text, so a batch document costed with 1 item
    // ran with 100 (and one costed with 100 items refused a later 1). Variables now count through the lengths
    // of their lists, the batch's items included, whether the list is the whole input or one of its fields.
    // Three aliases (MAX_ALIASES here) of one batch of n items cost 3 × (10 n + 1): 33 for 1 item, 1,023 for
    // 34 (MAX_QUERY_COST is 1,000; the body stays under MAX_REQUEST_BYTES).
    const items = (count: number) =>
      Array.from({ length: count }, () => ({ deposit: { accountId: "x", amount: "1" } }));
    const selection = "{ userErrors { code } }";
    const wholeInput = `mutation ($input: ApplyCreditBatchInput!) { a: applyCreditBatch(input: $input) ${selection} b: applyCreditBatch(input: $input) ${selection} c: applyCreditBatch(input: $input) ${selection} }`;
    const field = 'applyCreditBatch(input: { idempotencyKey: "cost", dryRun: true, items: $items })';
    const itemsOnly = `mutation ($items: [CreditBatchItemInput!]!) { a: ${field} ${selection} b: ${field} ${selection} c: ${field} ${selection} }`;
    const send = (query: string, count: number) =>
      post({
        query,
        variables:
          query === wholeInput
            ? { input: { idempotencyKey: "cost", dryRun: true, items: items(count) } }
            : { items: items(count) },
      });
    for (const query of [wholeInput, itemsOnly]) {
      const one = await send(query, 1);
      expect(one.status, JSON.stringify(one.body)).toBe(200);
      expect(one.body.extensions?.cost?.requestedQueryCost).toBe(3 * (10 + 1));
      const many = await send(query, 34);
      expect(many.status, JSON.stringify(many.body)).toBe(400);
      expect(many.body.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COSTLY");
      expect(many.body.extensions?.cost?.requestedQueryCost).toBe(3 * (10 * 34 + 1));
      const again = await send(query, 1);
      expect(again.status).toBe(200);
      expect(again.body.extensions?.cost?.requestedQueryCost).toBe(3 * (10 + 1));
    }
  });

  it("counts a mutation as a write", async () => {
    const { body } = await post({
      query:
        'mutation { createStore(input: { externalId: "S-1", name: "Main street" }) { store { id } userErrors { code } } }',
    });
    expect(body.errors).toBeUndefined();
    // 10 for the mutation, 1 for the store, 1 for the list of user errors.
    expect(body.extensions?.cost?.requestedQueryCost).toBe(12);
  });
});

describe("batching and request size", () => {
  it("runs batched operations up to MAX_BATCH_SIZE and refuses larger batches", async () => {
    const ok = await post([{ query: "{ apiVersion }" }, { query: "{ apiVersion }" }]);
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(2);
    const refused = await post([{ query: "{ apiVersion }" }, { query: "{ apiVersion }" }, { query: "{ apiVersion }" }]);
    expect(refused.status).toBe(413);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
  });

  it("refuses a body larger than MAX_REQUEST_BYTES with 413 by its Content-Length", async () => {
    const { status, body } = await post({ query: "{ apiVersion }", variables: { padding: "x".repeat(3000) } });
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions?.code).toBe("REQUEST_ENTITY_TOO_LARGE");
  });

  it("refuses a chunked body (no Content-Length) once it passes MAX_REQUEST_BYTES", async () => {
    const server = await startHttpServer(
      gateway,
      { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 1000 },
      { signals: [] },
    );
    try {
      const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest(
          {
            host: "127.0.0.1",
            port: server.port,
            path: "/graphql",
            method: "POST",
            headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
          },
          (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        request.on("error", reject);
        const payload = JSON.stringify({ query: "{ apiVersion }", variables: { padding: "x".repeat(5000) } });
        for (let offset = 0; offset < payload.length; offset += 500) request.write(payload.slice(offset, offset + 500));
        request.end();
      });
      expect(result.status).toBe(413);
      expect(result.body).toContain("REQUEST_ENTITY_TOO_LARGE");
    } finally {
      await server.shutdown();
    }
  });
});
