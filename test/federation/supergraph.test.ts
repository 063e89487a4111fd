// The gateway as an Apollo Federation v2 subgraph, tested the way a BFF team would use it: our subgraph
// (FEDERATION=true) composed with a small "orders" subgraph that references customers by `externalId`, the
// supergraph served by Hive Gateway, and one query joining orders with credit balances and history. The
// router resolves every order's customer in one `_entities` request, which costs one customer lookup however
// many customers it names; the caller's API key travels through the router, so each tenant sees only its own
// customers; and without FEDERATION the plain API has no federation fields.
import { buildSubgraphSchema as buildApolloSubgraph, printSubgraphSchema } from "@apollo/subgraph";
import { createGatewayRuntime, useCustomFetch } from "@graphql-hive/gateway-runtime";
import { composeServices } from "@theguild/federation-composition";
import { parse } from "graphql";
import { createYoga } from "graphql-yoga";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createLedger } from "../../src/ledger/index.ts";
import { buildSubgraphSchema } from "../../src/schema/federation.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const ledgerUrl = "http://ledger.subgraph.test/graphql";
const ordersUrl = "http://orders.subgraph.test/graphql";

/** The orders a shop system holds: each names its customer by the shop's own customer number. */
const orders = [
  { id: "order-1", totalCents: 1200, customerNumber: "CUST-1" },
  { id: "order-2", totalCents: 800, customerNumber: "CUST-2" },
  { id: "order-3", totalCents: 4500, customerNumber: "CUST-3" },
  { id: "order-4", totalCents: 300, customerNumber: "CUST-4" },
  { id: "order-5", totalCents: 990, customerNumber: "CUST-5" },
  { id: "order-6", totalCents: 150, customerNumber: "CUST-1" },
  { id: "order-7", totalCents: 700, customerNumber: "CUST-NOBODY" },
];

const ordersTypeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

  type Query {
    "The shop's orders, the first ones only when asked."
    orders(first: Int): [Order!]!
  }

  "An order of the shop."
  type Order {
    id: ID!
    totalCents: Int!
    "The customer, resolved by the credit ledger."
    customer: Customer
  }

  "A customer as the orders service knows it: only the shop's customer number."
  type Customer @key(fields: "externalId", resolvable: false) {
    externalId: String!
  }
`);

const ordersSubgraph = createYoga({
  schema: buildApolloSubgraph({
    typeDefs: ordersTypeDefs,
    resolvers: {
      Query: { orders: (_root: unknown, args: { first?: number }) => orders.slice(0, args.first ?? orders.length) },
      Order: { customer: (order: (typeof orders)[number]) => ({ externalId: order.customerNumber }) },
    },
  }),
  logging: false,
});

let testDatabase: TestDatabase;
let statements: string[] = [];
let ledgerSubgraph: Gateway;
let router: ReturnType<typeof createGatewayRuntime>;
let key: string;
let foreignKey: string;

async function seedTenant(name: string, customers: { externalId: string; name: string; deposits: bigint[] }[]) {
  const ledger = createLedger(testDatabase.database);
  const created = await ledger.createTenant({ name, timeZone: "Europe/Prague", defaultLocale: "en" });
  if (!created.ok) throw new Error(created.error.message);
  const tenantId = created.tenant.id;
  for (const customer of customers) {
    const made = await ledger.createCustomer(tenantId, { externalId: customer.externalId, name: customer.name });
    if (!made.ok) throw new Error(made.error.message);
    const account = await ledger.openAccount(tenantId, {
      customerId: made.customer.id,
      name: "Points",
      currency: "PTS",
    });
    if (!account.ok) throw new Error(account.error.message);
    for (const amount of customer.deposits) {
      const deposited = await ledger.deposit(tenantId, { accountId: account.account.id, amount });
      if (!deposited.ok) throw new Error(deposited.error.message);
    }
  }
  return (await createApiKey(testDatabase.database, { tenantId, name: `${name} BFF`, scopes: ["read"] })).secret;
}

beforeAll(async () => {
  testDatabase = await createTestDatabase({ onQuery: (event) => void statements.push(event.query) });
  key = await seedTenant(
    "Shop",
    [1, 2, 3, 4, 5].map((n) => ({ externalId: `CUST-${n}`, name: `Customer ${n}`, deposits: [100n * BigInt(n), 5n] })),
  );
  // Another tenant of the same ledger happens to use the same customer numbers.
  foreignKey = await seedTenant("Other shop", [{ externalId: "CUST-1", name: "Someone else", deposits: [999n] }]);

  ledgerSubgraph = createGateway({
    database: testDatabase.database,
    config: { ...loadConfig({ LOG_LEVEL: "silent" }), federation: true },
  });
  const composed = composeServices([
    { name: "ledger", typeDefs: parse(printSubgraphSchema(buildSubgraphSchema())), url: ledgerUrl },
    { name: "orders", typeDefs: ordersTypeDefs, url: ordersUrl },
  ]);
  if (composed.errors?.length) throw new Error(composed.errors.map((error) => error.message).join("\n"));
  const subgraphs: Record<string, { fetch: (request: Request) => Promise<Response> | Response }> = {
    [new URL(ledgerUrl).host]: ledgerSubgraph,
    [new URL(ordersUrl).host]: ordersSubgraph,
  };
  router = createGatewayRuntime({
    supergraph: composed.supergraphSdl as string,
    logging: false,
    // The router passes the client's API key on to the subgraphs; the ledger decides the tenant by it.
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get("authorization") }),
    },
    // The subgraphs are served in this process: each request goes to its server's `fetch`.
    plugins: () => [
      useCustomFetch(async (url, init) => {
        const subgraph = subgraphs[new URL(url).host];
        if (!subgraph) throw new Error(`no subgraph at ${url}`);
        return subgraph.fetch(new Request(url, init as RequestInit));
      }),
    ],
  });
});

afterAll(async () => {
  await router?.dispose();
  await ledgerSubgraph?.dispose();
  await testDatabase?.drop();
});

async function throughRouter(query: string, variables: Record<string, unknown>, apiKey: string | null) {
  const response = await router.fetch("http://router.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

const ordersWithCredits = /* GraphQL */ `
  query OrdersWithCredits($first: Int) {
    orders(first: $first) {
      id
      totalCents
      customer {
        externalId
        name
        balances { currency balance }
        history(first: 5) { totalCount edges { node { type amount } } }
      }
    }
  }
`;

describe("the ledger as a federation subgraph behind Hive Gateway", () => {
  it("joins orders with credit balances and history in one query", async () => {
    const body = await throughRouter(ordersWithCredits, { first: 6 }, key);
    expect(body.errors).toBeUndefined();
    const byId = Object.fromEntries(body.data.orders.map((order: { id: string }) => [order.id, order]));
    expect(byId["order-3"]).toEqual({
      id: "order-3",
      totalCents: 4500,
      customer: {
        externalId: "CUST-3",
        name: "Customer 3",
        balances: [{ currency: "PTS", balance: "305" }],
        history: {
          totalCount: 2,
          edges: [{ node: { type: "DEPOSIT", amount: "5" } }, { node: { type: "DEPOSIT", amount: "300" } }],
        },
      },
    });
    expect(byId["order-6"].customer.balances).toEqual([{ currency: "PTS", balance: "105" }]);
  });

  it("leaves out a customer the ledger does not know, with an error on that order only", async () => {
    const body = await throughRouter(ordersWithCredits, {}, key);
    const unknown = body.data.orders.find((order: { id: string }) => order.id === "order-7");
    expect(unknown).toEqual({ id: "order-7", totalCents: 700, customer: null });
    expect(body.data.orders.filter((order: { customer: unknown }) => order.customer !== null)).toHaveLength(6);
    expect(body.errors?.map((error) => (error as { path?: unknown[] }).path?.slice(0, 3))).toEqual([
      ["orders", 6, "customer"],
    ]);
  });

  it("resolves many customers with one lookup: the statements do not grow with the number of orders", async () => {
    // Warm: the API key is then served from memory, as it is on a busy instance.
    await throughRouter(ordersWithCredits, { first: 1 }, key);
    const count = async (first: number) => {
      statements = [];
      const body = await throughRouter(ordersWithCredits, { first }, key);
      expect(body.errors).toBeUndefined();
      expect(body.data.orders).toHaveLength(first);
      return [...statements];
    };
    const one = await count(1);
    const six = await count(6);
    expect(six.length).toBe(one.length);
    // The router sent the six orders' five customers in one `_entities` request; the ledger looked them up
    // with one statement (and read their accounts and histories with one statement each).
    const customerLookups = six.filter((statement) => /FROM customer WHERE [\s\S]*external_id/i.test(statement));
    expect(customerLookups).toHaveLength(1);
    console.info(`statements for 1 order: ${one.length}; for 6 orders (5 customers): ${six.length}`);
  });

  it("keeps tenants apart: the key travels through the router and decides whose customers resolve", async () => {
    const query = "query { orders(first: 1) { id customer { externalId name balances { balance } } } }";
    const ours = await throughRouter(query, {}, key);
    expect(ours.data.orders[0].customer).toEqual({
      externalId: "CUST-1",
      name: "Customer 1",
      balances: [{ balance: "105" }],
    });
    const theirs = await throughRouter(query, {}, foreignKey);
    expect(theirs.data.orders[0].customer).toEqual({
      externalId: "CUST-1",
      name: "Someone else",
      balances: [{ balance: "999" }],
    });
    // Without a key the ledger refuses; the router reports it and leaves the customer out.
    const anonymous = await throughRouter(query, {}, null);
    expect(anonymous.data?.orders?.[0]?.customer ?? null).toBeNull();
    expect(anonymous.errors?.length).toBeGreaterThan(0);
  });

  it("answers entity lookups by global id too, and only for the caller's tenant", async () => {
    const found = await ledgerSubgraph.fetch("http://ledger.subgraph.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({
        query: `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Customer { id externalId } } }`,
        variables: {
          representations: [
            { __typename: "Customer", externalId: "CUST-2" },
            { __typename: "Customer", externalId: "CUST-404" },
          ],
        },
      }),
    });
    const body = (await found.json()) as { data: { _entities: ({ id: string; externalId: string } | null)[] } };
    const [customer, missing] = body.data._entities;
    expect(customer?.externalId).toBe("CUST-2");
    expect(missing).toBeNull();

    const byId = async (apiKey: string) =>
      (
        (await (
          await ledgerSubgraph.fetch("http://ledger.subgraph.test/graphql", {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
            body: JSON.stringify({
              query: `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Customer { externalId } } }`,
              variables: { representations: [{ __typename: "Customer", id: customer?.id }] },
            }),
          })
        ).json()) as { data: { _entities: unknown[] } }
      ).data._entities;
    expect(await byId(key)).toEqual([{ externalId: "CUST-2" }]);
    expect(await byId(foreignKey)).toEqual([null]);
  });

  it("refuses a representation of no entity type with INVALID_REPRESENTATION naming the entity types, not as a fault", async () => {
    const lookup = async (representations: unknown[], language = "en") => {
      const response = await ledgerSubgraph.fetch("http://ledger.subgraph.test/graphql", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "accept-language": language,
          authorization: `Bearer ${key}`,
        },
        body: JSON.stringify({
          query: `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Customer { externalId } } }`,
          variables: { representations },
        }),
      });
      return {
        status: response.status,
        body: (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] },
      };
    };
    const known = { __typename: "Customer", externalId: "CUST-2" };
    const cases: [unknown[], string][] = [
      [
        [known, { __typename: "Order", id: "order-1" }],
        'The _entities representation at index 1 names the type "Order", which is not an entity of this subgraph; the entity types are: Customer.',
      ],
      // A type of the schema that is not an entity is no better.
      [
        [{ __typename: "Store", id: "x" }],
        'The _entities representation at index 0 names the type "Store", which is not an entity of this subgraph; the entity types are: Customer.',
      ],
      [
        [{ externalId: "CUST-2" }],
        "The _entities representation at index 0 is not an object with an entity type of this subgraph in __typename; the entity types are: Customer.",
      ],
      [
        ["Customer"],
        "The _entities representation at index 0 is not an object with an entity type of this subgraph in __typename; the entity types are: Customer.",
      ],
    ];
    for (const [representations, message] of cases) {
      const { status, body } = await lookup(representations);
      expect(status).toBe(200);
      expect(body.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
        ["INVALID_REPRESENTATION", message],
      ]);
    }
    const czech = await lookup([{ __typename: "Order", id: "order-1" }], "cs");
    expect(czech.body.errors?.[0]?.message).toBe(
      "Reprezentace _entities na pozici 0 uvádí typ „Order“, který není entitou tohoto subgrafu; typy entit jsou: Customer.",
    );
  });

  it("counts every representation of an entity lookup in the query cost, as nodes(ids:) counts ids", async () => {
    const lookup = async (count: number) => {
      const response = await ledgerSubgraph.fetch("http://ledger.subgraph.test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: `query ($representations: [_Any!]!) { _entities(representations: $representations) {
            ... on Customer { history(first: 100) { edges { node { id } } } } } }`,
          variables: {
            representations: Array.from({ length: count }, () => ({ __typename: "Customer", externalId: "CUST-2" })),
          },
        }),
      });
      return (await response.json()) as {
        errors?: { extensions?: { code?: string } }[];
        extensions?: { cost?: { requestedQueryCost: number } };
      };
    };
    // One customer's history page: 1 for the lookup, plus 1 + 100 × 2 for the page.
    expect((await lookup(1)).extensions?.cost?.requestedQueryCost).toBe(1 + 1 * (1 + 100 * 2));
    // Fifty of them cost fifty times as much: past MAX_QUERY_COST (5,000), refused before anything runs.
    expect((await lookup(50)).errors?.map((error) => error.extensions?.code)).toEqual(["QUERY_TOO_COSTLY"]);
  });

  it("is not part of the plain API: without FEDERATION there is no _entities or _service", async () => {
    const plain = createGateway({ database: testDatabase.database, config: loadConfig({ LOG_LEVEL: "silent" }) });
    try {
      const response = await plain.fetch("http://gateway.test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: "{ _service { sdl } }" }),
      });
      const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      expect(body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await plain.dispose();
    }
  });
});
