// What every error looks like when it leaves the gateway, whoever produced it (validation, variable coercion,
// scalars, guards): no schema hints when introspection is off.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/config.ts";
import { createGateway, type Gateway } from "../src/server/yoga.ts";
import { createTenantKey } from "./support/api.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";

let testDatabase: TestDatabase;
let key: string;
let open: Gateway;
let closed: Gateway;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  key = await createTenantKey(testDatabase.database);
  open = createGateway({ database: testDatabase.database, config: loadConfig({ LOG_LEVEL: "silent" }) });
  closed = createGateway({ database: testDatabase.database, config: loadConfig({ LOG_LEVEL: "silent", INTROSPECTION: "false" }) });
});

afterAll(async () => {
  await testDatabase?.drop();
});

interface Body {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function send(
  target: Gateway,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Body }> {
  const response = await target.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

// Each one misspells a schema member that graphql-js would suggest: in literals (validation) and in variables
// (coercion), for fields, arguments, enum values and input fields.
const misspellings: [string, string, Record<string, unknown>?][] = [
  ["field", "{ apiVersio }"],
  ["argument", '{ customer(externalI: "x") { id } }'],
  ["enum value, literal", '{ customer(externalId: "x") { history(orderBy: { field: EFFECTIVE, direction: DESC }) { totalCount } } }'],
  ["enum value in a list, literal", '{ customer(externalId: "x") { history(filter: { types: [DEPOSITT] }) { totalCount } } }'],
  ["input field, literal", '{ customer(externalId: "x") { history(filter: { typeNam: "x" }) { totalCount } } }'],
  [
    "enum value, variable",
    'query ($o: CreditHistoryOrder) { customer(externalId: "x") { history(orderBy: $o) { totalCount } } }',
    { o: { field: "EFFECTIV", direction: "DESC" } },
  ],
  [
    "input field, variable",
    "mutation ($i: DepositInput!) { deposit(input: $i) { replayed } }",
    { i: { accountId: "x", amout: "1" } },
  ],
  ["type name, variable definition", "query ($o: CreditHistoryOrde) { apiVersion }"],
];

describe("with INTROSPECTION=false", () => {
  for (const [what, query, variables] of misspellings) {
    it(`gives no "Did you mean" hint for a misspelled ${what}`, async () => {
      const { body } = await send(closed, query, variables);
      expect(body.errors?.length).toBeGreaterThan(0);
      for (const error of body.errors ?? []) expect(error.message).not.toMatch(/Did you mean/i);
    });
  }
});

describe("with introspection on", () => {
  it("keeps the hints, which help developers", async () => {
    const { body } = await send(open, "{ apiVersio }");
    expect(body.errors?.[0]?.message).toMatch(/Did you mean "apiVersion"\?/);
  });
});
