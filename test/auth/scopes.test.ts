// API key scopes, on both engines: a read-only key may query but not mutate, and its mutation is refused as a
// whole with FORBIDDEN (HTTP 403, localized) before any resolver runs, so that nothing is written; a
// write-only key may mutate but not query. The plugin is tested on a Yoga server built like the gateway's,
// and the gateway itself is held to the same rule.
import { parse } from "graphql";
import { createYoga } from "graphql-yoga";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { requiredScopes, useScopes } from "../../src/auth/scopes.ts";
import { schema } from "../../src/schema/index.ts";
import { createContext, type Context } from "../../src/server/context.ts";
import { createApiFixture, type ApiFixture, type GraphQLBody } from "../support/api.ts";
import { snapshot } from "../support/ledger.ts";

let fixture: ApiFixture;
let server: ReturnType<typeof createYoga<Record<string, unknown>, Context>>;
let readKey: string;
let writeKey: string;
let customerId: string;
let accountId: string;

beforeAll(async () => {
  fixture = await createApiFixture();
  const database = fixture.database;
  const ledger = fixture.ledger;
  server = createYoga<Record<string, unknown>, Context>({
    schema,
    context: ({ request }) => createContext({ request, database, ledger }),
    plugins: [useScopes()],
    logging: false,
  });
  readKey = (await createApiKey(database, { tenantId: fixture.tenantId, name: "reports", scopes: ["read"] })).secret;
  writeKey = (await createApiKey(database, { tenantId: fixture.tenantId, name: "till", scopes: ["write"] })).secret;
  customerId = await fixture.createCustomer("CUST-1");
  accountId = await fixture.openAccount(customerId);
});

afterAll(async () => {
  await fixture?.drop();
});

async function send(
  target: { fetch: (url: string, init: RequestInit) => Response | Promise<Response> },
  key: string | null,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const response = await target.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLBody };
}

const depositMutation = `mutation ($input: DepositInput!) { deposit(input: $input) { action { id } userErrors { code } } }`;
const readQuery = `query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance } } }`;

describe("requiredScopes", () => {
  it("asks write of mutations, read of queries, and nothing of introspection alone", () => {
    expect(requiredScopes(parse('mutation { createStore(input: { name: "x" }) { userErrors { code } } }'))).toEqual([
      "write",
    ]);
    expect(requiredScopes(parse("{ stores { edges { cursor } } }"))).toEqual(["read"]);
    expect(requiredScopes(parse("query { __typename }"))).toEqual([]);
    expect(requiredScopes(parse("{ __schema { queryType { name } } }"))).toEqual([]);
    expect(requiredScopes(parse("{ __typename stores { edges { cursor } } }"))).toEqual(["read"]);
    const both = parse(
      'query Read { __typename } mutation Write { createStore(input: { name: "x" }) { userErrors { code } } }',
    );
    expect(requiredScopes(both, "Read")).toEqual([]);
    expect(requiredScopes(both, "Write")).toEqual(["write"]);
    // Without a name, a document with two operations names no single one; execution reports that itself.
    expect(requiredScopes(both)).toEqual([]);
  });

  it("asks read too of a mutation that reads through a payload's query root, also from a fragment", () => {
    expect(
      requiredScopes(parse('mutation { createStore(input: { name: "x" }) { query { stores { edges { cursor } } } } }')),
    ).toEqual(["write", "read"]);
    expect(
      requiredScopes(
        parse(
          'mutation { createStore(input: { name: "x" }) { ...Refetch } } fragment Refetch on CreateStorePayload { query { __typename } }',
        ),
      ),
    ).toEqual(["write", "read"]);
  });
});

describe("a read-only key", () => {
  it("may query", async () => {
    const { status, body } = await send(server, readKey, readQuery, { id: accountId });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ node: { balance: "0" } });
  });

  it("gets FORBIDDEN with status 403 for a mutation, and nothing is written", async () => {
    const before = await snapshot(fixture.database);
    const { status, body } = await send(server, readKey, depositMutation, { input: { accountId, amount: "100" } });
    expect(status).toBe(403);
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(body.errors?.[0]?.message).toBe(
      "This API key is read-only: it may not run mutations, and nothing was written. Use a key with the write scope.",
    );
    expect(await snapshot(fixture.database)).toBe(before);
  });

  it("is refused for every field of a mutation with several, so none of them runs", async () => {
    const before = await snapshot(fixture.database);
    const query = `mutation ($input: DepositInput!) {
      customer: createCustomer(input: { externalId: "CUST-2" }) { customer { id } userErrors { code } }
      store: createStore(input: { name: "Shop" }) { store { id } userErrors { code } }
      deposit(input: $input) { action { id } userErrors { code } }
    }`;
    const { status, body } = await send(server, readKey, query, { input: { accountId, amount: "100" } });
    expect(status).toBe(403);
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(["FORBIDDEN"]);
    expect(await snapshot(fixture.database)).toBe(before);
  });

  it("gets the message in the request's language, or else the tenant's", async () => {
    const czech = await send(
      server,
      readKey,
      depositMutation,
      { input: { accountId, amount: "100" } },
      { "accept-language": "cs" },
    );
    expect(czech.body.errors?.[0]?.message).toBe(
      "Tento API klíč je jen pro čtení: nesmí spouštět mutace a nic nebylo zapsáno. Použijte klíč s oprávněním write.",
    );
    const tenant = await fixture.createTenant("Czech tenant", { defaultLocale: "cs" });
    const czechReadKey = (
      await createApiKey(fixture.database, { tenantId: tenant.tenantId, name: "r", scopes: ["read"] })
    ).secret;
    const byTenant = await send(server, czechReadKey, depositMutation, { input: { accountId, amount: "100" } });
    expect(byTenant.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(byTenant.body.errors?.[0]?.message).toMatch(/^Tento API klíč je jen pro čtení/);
  });

  it("picks the operation by name in a document with a query and a mutation", async () => {
    const document = `query Read($id: ID!) { node(id: $id) { id } }
      mutation Write($input: DepositInput!) { deposit(input: $input) { userErrors { code } } }`;
    const response = async (operationName: string) =>
      (
        await server.fetch("http://gateway.test/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${readKey}` },
          body: JSON.stringify({
            query: document,
            operationName,
            variables: { id: accountId, input: { accountId, amount: "1" } },
          }),
        })
      ).json() as Promise<GraphQLBody>;
    expect((await response("Read")).data).toEqual({ node: { id: accountId } });
    expect((await response("Write")).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});

describe("a write-only key", () => {
  it("may run mutations and read what they return", async () => {
    const { status, body } = await send(server, writeKey, depositMutation, { input: { accountId, amount: "100" } });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.deposit.userErrors).toEqual([]);
  });

  it("gets FORBIDDEN for a query, but may introspect the schema", async () => {
    const query = await send(server, writeKey, readQuery, { id: accountId });
    expect(query.status).toBe(403);
    expect(query.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(query.body.errors?.[0]?.message).toBe("This API key may not run queries: it does not have the read scope.");
    const introspection = await send(server, writeKey, "{ __schema { mutationType { name } } }");
    expect(introspection.body).toMatchObject({ data: { __schema: { mutationType: { name: "Mutation" } } } });
  });

  it("gets FORBIDDEN for a mutation that reads the tenant through its payload's query root, and writes nothing", async () => {
    const before = await snapshot(fixture.database);
    const reading = `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code }
      query { customers(first: 5) { edges { node { name email } } } } } }`;
    const { status, body } = await send(server, writeKey, reading, { input: { accountId, amount: "100" } });
    expect(status).toBe(403);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.map((error) => [error.extensions?.code, error.extensions?.scope])).toEqual([
      ["FORBIDDEN", "read"],
    ]);
    expect(await snapshot(fixture.database)).toBe(before);
  });
});

describe("requests without a valid key", () => {
  it("are left to the fields, which answer UNAUTHENTICATED", async () => {
    const { body } = await send(server, null, depositMutation, { input: { accountId, amount: "100" } });
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("the gateway", () => {
  // Fails until src/server/yoga.ts lists useScopes() among its plugins.
  it("refuses a read-only key's mutation with FORBIDDEN and writes nothing", async () => {
    const before = await snapshot(fixture.database);
    const { status, body } = await send(fixture.gateway, readKey, depositMutation, {
      input: { accountId, amount: "100" },
    });
    expect(body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(status).toBe(403);
    expect(await snapshot(fixture.database)).toBe(before);
    const query = await send(fixture.gateway, readKey, readQuery, { id: accountId });
    expect(query.body.errors).toBeUndefined();
  });
});
