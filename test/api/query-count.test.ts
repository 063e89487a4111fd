// Batching: the number of SQL statements a nested query costs is fixed by the shape of the query, not by
// how many customers, accounts or actions it returns. If an N+1 appears (a statement per row), the count
// grows with the page sizes and this test fails.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { createLedger, type Ledger } from "../../src/ledger/index.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let testDatabase: TestDatabase;
let gateway: Gateway;
let secret: string;
let statements = 0;
/** The text of every statement sent, in order, for the write counts below. */
const sent: string[] = [];
let tenantId: string;
let ledger: Ledger;

const nestedQuery = /* GraphQL */ `
  query Nested($customers: Int!, $actions: Int!) {
    customers(first: $customers) {
      edges {
        node {
          externalId
          balances { currency balance }
          accounts {
            name
            balance
            history(first: $actions) {
              totalCount
              pageInfo { hasNextPage }
              edges {
                direction
                balanceAfter
                node {
                  type
                  typeName
                  amount
                  store { name }
                  partner { name }
                  grant { name remainingAmount }
                  sourceAccount { name }
                  targetAccount { name }
                  sourceBalanceBefore
                  targetBalanceAfter
                  allocations { amount grant { priority } }
                }
              }
            }
          }
          history(first: $actions) { edges { node { type store { name } } } }
        }
      }
    }
  }
`;

async function must<T extends { ok: boolean }>(result: Promise<T>): Promise<T & { ok: true }> {
  const value = await result;
  if (!value.ok) throw new Error(JSON.stringify(value));
  return value as T & { ok: true };
}

beforeAll(async () => {
  testDatabase = await createTestDatabase({
    onQuery: ({ query }) => {
      statements++;
      sent.push(query);
    },
  });
  ledger = createLedger(testDatabase.database);
  const tenant = (await must(ledger.createTenant({ name: "Counting", timeZone: "Europe/Prague" }))).tenant;
  tenantId = tenant.id;
  secret = (await createApiKey(testDatabase.database, { tenantId: tenant.id, name: "k", scopes: ["read", "write"] }))
    .secret;
  const store = (await must(ledger.createStore(tenant.id, { name: "Shop" }))).store;
  const partner = (await must(ledger.createPartner(tenant.id, { name: "Partner" }))).partner;
  // 8 customers with 2 accounts each and 12 actions per account: more rows than the small query asks for.
  for (let c = 0; c < 8; c++) {
    const customer = (await must(ledger.createCustomer(tenant.id, { externalId: `c${c}` }))).customer;
    const accounts = [];
    for (let a = 0; a < 2; a++) {
      accounts.push(
        (await must(ledger.openAccount(tenant.id, { customerId: customer.id, name: `acc${a}`, currency: "PTS" })))
          .account,
      );
    }
    for (const account of accounts) {
      for (let i = 0; i < 5; i++) {
        await must(
          ledger.deposit(tenant.id, {
            accountId: account.id,
            amount: 100n,
            storeId: store.id,
            grant: { name: `g${i}`, priority: i },
          }),
        );
      }
      for (let i = 0; i < 5; i++)
        await must(ledger.reduce(tenant.id, { accountId: account.id, amount: 30n, partnerId: partner.id }));
    }
    await must(
      ledger.transfer(tenant.id, { sourceAccountId: accounts[0]!.id, targetAccountId: accounts[1]!.id, amount: 10n }),
    );
    await must(
      ledger.transfer(tenant.id, { sourceAccountId: accounts[1]!.id, targetAccountId: accounts[0]!.id, amount: 5n }),
    );
    // The latest action of every account names a store and a partner, so that the smallest page already
    // loads every kind of related object and the two queries differ only in how many rows they return.
    for (const account of accounts) {
      await must(
        ledger.deposit(tenant.id, { accountId: account.id, amount: 1n, storeId: store.id, partnerId: partner.id }),
      );
    }
  }
  gateway = createGateway({ database: testDatabase.database, ledger, config: { graphiql: false, logLevel: "silent" } });
  // The first request of a key records its use (at most once a minute, see src/auth/api-keys.ts). It is sent
  // here, so that the counted requests measure reading alone.
  await countStatements({ customers: 1, actions: 1 });
});

afterAll(async () => {
  await testDatabase?.drop();
});

/**
 * A statement with its lists collapsed, so that the same query for more or fewer ids has one shape: lists of
 * bound parameters, and the UNION ALL of one page query per parent that history pages send.
 */
function shapeOf(query: string): string {
  const parameters = query.replace(/\$\d+/g, "?").replace(/\(\s*\?(\s*,\s*\?)*\s*\)/g, "(?...)");
  return [...new Set(parameters.split(/\s+UNION ALL\s+/))].join(" UNION ALL ");
}

async function countStatements(variables: { customers: number; actions: number }) {
  const before = statements;
  const response = await gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query: nestedQuery, variables }),
  });
  const body = (await response.json()) as { data?: { customers: { edges: unknown[] } }; errors?: unknown };
  expect(body.errors).toBeUndefined();
  const shapes = new Map<string, number>();
  for (const query of sent.slice(sent.length - (statements - before)))
    shapes.set(shapeOf(query), (shapes.get(shapeOf(query)) ?? 0) + 1);
  return { statements: statements - before, shapes, customers: body.data!.customers.edges.length };
}

describe("statements per nested query", () => {
  it("does not grow with the number of customers, accounts or actions returned", async () => {
    const small = await countStatements({ customers: 2, actions: 3 });
    const large = await countStatements({ customers: 8, actions: 12 });
    expect(small.customers).toBe(2);
    expect(large.customers).toBe(8);
    // The bound, stated as what cannot depend on timing. Whatever the page sizes (the large query returns
    // 192 actions; one statement per row would cost hundreds), the request sends the same 15 kinds of
    // statement: the API key and its tenant, the customers page, accounts (of the customers, and of the
    // actions), customer and account history pages, the account history count, actions, entries,
    // allocations, grants, stores, partners, and the indexed look-up for expirations due (each customer and
    // account is settled once per request). How many times each kind is sent depends on the event loop:
    // when the customer and the account history pages arrive in different turns, their actions load in two
    // batches, and so may everything loaded from the actions. That is why a bound on the total failed now and
    // then under load (20 statements against a bound of 18: several loaders split at once); no background
    // job or key bookkeeping was counted (none runs here, and the warm-up request records the key's use).
    // So the test bounds the kinds of statement, and how often one kind repeats: at most 4 times (two kinds
    // serve two loads each, accounts for customers and for actions, expirations due for customers and for
    // accounts, and each load may split in two), far below any N+1 (8 customers, 192 actions).
    for (const run of [small, large]) {
      expect(run.shapes.size).toBeLessThanOrEqual(15);
      expect(Math.max(...run.shapes.values())).toBeLessThanOrEqual(4);
    }
    expect([...large.shapes.keys()].sort()).toEqual([...small.shapes.keys()].sort());
  });
});

// Writes: every money-moving mutation is one database transaction, counted from its BEGIN to its COMMIT,
// both included. Only the ledger's transaction is counted, not the request around it (the API-key lookup
// before it, the payload's reads after it): those belong to the read path and its caching, while the
// transaction is what the write path controls and what holds the accounts' row locks. Requests are sent one
// at a time and nothing else runs (no background job is started here), so the window holds exactly the
// transaction's statements.
describe("statements per write", () => {
  const mutations = {
    deposit: `mutation($input: DepositInput!) { deposit(input: $input) { action { id } userErrors { code } } }`,
    reduce: `mutation($input: ReduceInput!) { reduce(input: $input) { action { id } userErrors { code } } }`,
    transfer: `mutation($input: TransferInput!) { transfer(input: $input) { action { id } userErrors { code } } }`,
    reverse: `mutation($input: ReverseCreditActionInput!) { reverseCreditAction(input: $input) { action { id } userErrors { code } } }`,
    voidGrant: `mutation($input: VoidCreditGrantInput!) { voidCreditGrant(input: $input) { action { id } userErrors { code } } }`,
  };

  /** Sends the mutation; returns the new action's id and how many statements its transaction sent. */
  async function write(name: keyof typeof mutations, input: Record<string, unknown>) {
    const start = sent.length;
    const response = await gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query: mutations[name], variables: { input } }),
    });
    const body = (await response.json()) as {
      data?: Record<string, { action: { id: string } | null; userErrors: unknown[] }>;
      errors?: unknown;
    };
    expect(body.errors).toBeUndefined();
    const payload = Object.values(body.data!)[0]!;
    expect(payload.userErrors).toEqual([]);
    const request = sent.slice(start);
    const begins = request.flatMap((query, index) => (/^\s*BEGIN\b/i.test(query) ? [index] : []));
    const commits = request.flatMap((query, index) => (/^\s*COMMIT\b/i.test(query) ? [index] : []));
    // One transaction: the key's last use is already recorded (the warm-up above), nothing is due to expire.
    expect(begins).toHaveLength(1);
    expect(commits).toHaveLength(1);
    return { actionId: payload.action!.id, statements: commits[0]! - begins[0]! + 1 };
  }

  it("costs a fixed, small number of statements per money-moving write", async () => {
    const [store] = await testDatabase.database.read.store.findMany({ where: { tenantId } });
    const [partner] = await testDatabase.database.read.partner.findMany({ where: { tenantId } });
    const customer = (await must(ledger.createCustomer(tenantId, { externalId: "writer" }))).customer;
    const open = async () =>
      encodeGlobalID(
        "CreditAccount",
        (await must(ledger.openAccount(tenantId, { customerId: customer.id, name: "w", currency: "PTS" }))).account.id,
      );
    const source = await open();
    const target = await open();
    // The store and partner are checked in the statement that locks the accounts: naming them costs nothing.
    const places = { storeId: encodeGlobalID("Store", store!.id), partnerId: encodeGlobalID("Partner", partner!.id) };
    await write("deposit", { accountId: target, amount: "1" });
    const deposit = await write("deposit", {
      accountId: source,
      amount: "100",
      grant: { name: "g" },
      idempotencyKey: "count-deposit",
      ...places,
    });
    await write("deposit", { accountId: source, amount: "100", grant: { priority: 1 } });
    const reduce = await write("reduce", { accountId: source, amount: "30", ...places });
    // Spends two grants of the source and opens two in the target.
    const transfer = await write("transfer", {
      sourceAccountId: source,
      targetAccountId: target,
      amount: "120",
      ...places,
    });
    const reverse = await write("reverse", { actionId: transfer.actionId });
    const grant = (
      await testDatabase.database.read.creditGrant.findFirstOrThrow({
        where: { remainingAmount: { gt: 0n }, account: { customerId: customer.id } },
      })
    ).id;
    const voided = await write("voidGrant", { grantId: encodeGlobalID("CreditGrant", grant) });

    // BEGIN; lock and read the accounts (with the store and partner); insert the action (skipping a taken
    // idempotency key); the grant; its allocation; the entry; update the balance (asserting the grants and
    // the entry count); COMMIT.
    expect(deposit.statements).toBeLessThanOrEqual(8);
    // As a deposit, but the grants to spend are read, then changed, instead of a grant inserted.
    expect(reduce.statements).toBeLessThanOrEqual(9);
    // As a reduction, plus the target's new grants; allocations, entries and both balances take one
    // statement each for the two accounts.
    expect(transfer.statements).toBeLessThanOrEqual(10);
    // The original is read by the update that marks it, and the grants it spent are read to be refilled.
    expect(reverse.statements).toBeLessThanOrEqual(12);
    // The account is locked through the grant, which is then read, and changed with the debit.
    expect(voided.statements).toBeLessThanOrEqual(9);
  });
});
