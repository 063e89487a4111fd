// Statements per request for the workloads the benchmark measures (bench/): each is a fixed number of
// statements on a warm instance, whatever the data, and this test states the number, for the whole HTTP
// request (test/api/query-count.test.ts bounds every write's transaction on its own). A change that adds a
// statement to one of them (a lookup per request, a settlement check, a page nobody selected) fails here
// before it shows in the benchmark. The API key is read once and then served from memory for a few seconds
// (src/auth/api-keys.ts), so a warm request costs no statement for it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { createLedger, type Ledger } from "../../src/ledger/index.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let testDatabase: TestDatabase;
let gateway: Gateway;
let ledger: Ledger;
let secret: string;
let statements: string[] = [];
let clock = new Date("2026-06-01T10:00:00Z");
let ids: { customer: string; account: string; store: string; expiringAccount: string };

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString("base64");

async function must<T extends { ok: boolean }>(result: Promise<T>): Promise<T & { ok: true }> {
  const value = await result;
  if (!value.ok) throw new Error(JSON.stringify(value));
  return value as T & { ok: true };
}

beforeAll(async () => {
  testDatabase = await createTestDatabase({ onQuery: (event) => void statements.push(event.query) });
  ledger = createLedger(testDatabase.database, { clock: () => clock });
  const tenant = (await must(ledger.createTenant({ name: "Counting", timeZone: "Europe/Prague" }))).tenant;
  secret = (await createApiKey(testDatabase.database, { tenantId: tenant.id, name: "k", scopes: ["read", "write"] }))
    .secret;
  const store = (await must(ledger.createStore(tenant.id, { name: "Shop" }))).store;
  let first: { customer: string; account: string } | null = null;
  for (let c = 0; c < 11; c++) {
    const customer = (await must(ledger.createCustomer(tenant.id, { externalId: `c${c}` }))).customer;
    for (let a = 0; a < 2; a++) {
      const account = (
        await must(ledger.openAccount(tenant.id, { customerId: customer.id, name: `acc${a}`, currency: "PTS" }))
      ).account;
      first ??= { customer: customer.id, account: account.id };
      for (let i = 0; i < 4; i++) {
        await must(
          ledger.deposit(tenant.id, { accountId: account.id, amount: 100n, storeId: i % 2 ? store.id : null }),
        );
      }
      await must(ledger.reduce(tenant.id, { accountId: account.id, amount: 30n }));
    }
  }
  // An account whose grant lapses after the data is written: reading it must record the expiration first.
  const lapsing = (await must(ledger.createCustomer(tenant.id, { externalId: "lapsing" }))).customer;
  const expiringAccount = (
    await must(ledger.openAccount(tenant.id, { customerId: lapsing.id, name: "promo", currency: "PTS" }))
  ).account;
  await must(
    ledger.deposit(tenant.id, {
      accountId: expiringAccount.id,
      amount: 50n,
      grant: { expiresAt: new Date("2026-06-02T00:00:00Z") },
    }),
  );
  ids = { ...(first as { customer: string; account: string }), store: store.id, expiringAccount: expiringAccount.id };
  gateway = createGateway({ database: testDatabase.database, ledger, config: { graphiql: false, logLevel: "silent" } });
  // The first request reads the key and records its use (at most once a minute): not counted below.
  await run("{ __typename }", {});
});

afterAll(async () => {
  await testDatabase?.drop();
});

async function run(query: string, variables: Record<string, unknown>) {
  statements = [];
  const response = await gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return { data: body.data as Record<string, unknown>, statements: [...statements] };
}

const nestedRead = /* GraphQL */ `
  query Nested {
    customers(first: 10) {
      edges { node { id externalId accounts { id name balance history(first: 10) { edges { node { amount type effectiveAt store { name } } } } } } }
    }
  }
`;

const accountPage = /* GraphQL */ `
  query AccountPage($id: ID!) {
    node(id: $id) {
      ... on CreditAccount {
        history(first: 20) { edges { balanceBefore balanceAfter node { amount type effectiveAt createdAt store { name } } } }
      }
    }
  }
`;

const filteredCount = /* GraphQL */ `
  query FilteredCount($id: ID!, $store: ID!) {
    node(id: $id) { ... on Customer { history(filter: { stores: [$store] }) { totalCount } } }
  }
`;

describe("statements per read request, warm", () => {
  it("nested read (customers, their accounts, their latest actions and stores): 3", async () => {
    const { data, statements } = await run(nestedRead, {});
    expect((data.customers as { edges: unknown[] }).edges).toHaveLength(10);
    // The customers page, their accounts, one history page statement for every account (with its actions
    // and stores).
    expect(statements).toHaveLength(3);
  });

  it("one account's latest entries with balances and stores: 2", async () => {
    const { data, statements } = await run(accountPage, { id: globalId("CreditAccount", ids.account) });
    const node = data.node as { history: { edges: unknown[] } };
    expect(node.history.edges).toHaveLength(5);
    // The account (node), and its history page with actions and stores.
    expect(statements).toHaveLength(2);
  });

  it("a customer's history count filtered by a store: 2, and no page read", async () => {
    const { data, statements } = await run(filteredCount, {
      id: globalId("Customer", ids.customer),
      store: globalId("Store", ids.store),
    });
    // 2 of each account's 4 deposits were at the store; the reductions were not.
    expect((data.node as { history: { totalCount: number } }).history.totalCount).toBe(4);
    expect(statements).toHaveLength(2);
  });

  it("records a lapsed grant's expiration before showing an account, and then costs nothing more for it", async () => {
    clock = new Date("2026-06-03T00:00:00Z");
    const query = /* GraphQL */ `
      query Lapsed($id: ID!) {
        node(id: $id) { ... on CreditAccount { balance history(first: 5) { totalCount edges { node { type amount } } } } }
      }
    `;
    const first = await run(query, { id: globalId("CreditAccount", ids.expiringAccount) });
    const account = first.data.node as {
      balance: string;
      history: { totalCount: number; edges: { node: { type: string; amount: string } }[] };
    };
    expect(account.balance).toBe("0");
    expect(account.history.totalCount).toBe(2);
    expect(account.history.edges[0]!.node).toEqual({ type: "EXPIRATION", amount: "50" });
    // Once recorded, the next read finds nothing due: the account, the page and the count.
    const second = await run(query, { id: globalId("CreditAccount", ids.expiringAccount) });
    expect(second.data).toEqual(first.data);
    expect(second.statements).toHaveLength(3);
    const verified = await ledger.verify({
      tenantId: (
        await testDatabase.database.read.creditAccount.findUniqueOrThrow({ where: { id: ids.expiringAccount } })
      ).tenantId,
    });
    expect(verified).toEqual([]);
  });
});

describe("statements per write request, warm", () => {
  const globalAccount = () => globalId("CreditAccount", ids.account);
  // On PostgreSQL a write's entries and allocations go in the statement that writes the balances (INSERTs in its
  // WITH clause, src/ledger/write-session.ts finish()): two statements fewer than on SQLite, which has no
  // INSERT in a WITH clause (and no round trips to save).
  const combined = () => (testDatabase.database.engine === "postgres" ? 2 : 0);
  // And a single write's action goes in the WITH clause of the statement after it (WriteSession.beginAction),
  // its new grants in the final statement's (WriteSession.credit): one fewer each.
  const deferred = (inserts = 1) => (testDatabase.database.engine === "postgres" ? inserts : 0);
  /** The statement that carries the action's INSERT on PostgreSQL: the first after the lock. */
  const expectActionCarriedBy = (statements: string[], index: number, main: RegExp) => {
    if (!deferred()) return;
    expect(statements[index]).toMatch(/^WITH pending_actions AS \(INSERT INTO credit_action /);
    expect(statements[index]).toMatch(main);
    expect(statements.filter((statement) => /INSERT INTO credit_action/.test(statement))).toHaveLength(1);
  };
  it("deposit with an idempotency key: 4 on PostgreSQL, 8 on SQLite, BEGIN and COMMIT included, and the payload reads nothing more", async () => {
    const { data, statements } = await run(
      `mutation($id: ID!) { deposit(input: { accountId: $id, amount: "7", idempotencyKey: "count-1" }) { accounts { balance } userErrors { code } } }`,
      { id: globalAccount() },
    );
    expect(data.deposit).toMatchObject({ userErrors: [] });
    // BEGIN; lock and read the account; the action; its grant; the allocation; the entry; the balance; COMMIT.
    expect(statements).toHaveLength(8 - combined() - deferred(2));
    expect(statements[0]).toMatch(/^BEGIN/);
    expect(statements.at(-1)).toMatch(/^COMMIT/);
    // On PostgreSQL all four rows ride with the balance's UPDATE.
    expectActionCarriedBy(
      statements,
      2,
      /, new_grants AS \(INSERT INTO credit_grant .* RETURNING [a-z_, ]+\), w1 AS \(INSERT INTO credit_allocation .*\), w2 AS \(INSERT INTO credit_entry .*\)\s+UPDATE credit_account /s,
    );
  });

  it("holds: authorize 6, capture 10, release 6 (5, 7 and 5 on PostgreSQL), BEGIN and COMMIT included, and the payloads read nothing more", async () => {
    const holdPayload = "hold { id state } account { balance held available } userErrors { code }";
    const authorize = (amount: string) =>
      run(`mutation($id: ID!) { authorizeHold(input: { accountId: $id, amount: "${amount}" }) { ${holdPayload} } }`, {
        id: globalAccount(),
      });
    const placed = await authorize("20");
    const hold = (placed.data.authorizeHold as { hold: { id: string; state: string } }).hold;
    expect(hold.state).toBe("PENDING");
    // BEGIN; lock and read the account; the hold; its HOLD action; the account's held amount; COMMIT.
    expect(placed.statements).toHaveLength(6 - deferred());
    const captured = await run(`mutation($id: ID!) { captureHold(input: { holdId: $id }) { ${holdPayload} } }`, {
      id: hold.id,
    });
    expect(captured.data.captureHold).toMatchObject({ hold: { state: "CAPTURED" }, userErrors: [] });
    // BEGIN; lock the account through the hold; close the hold; the REDUCTION; a page of grants; their amounts;
    // the allocations; the entry; the balance; COMMIT.
    expect(captured.statements).toHaveLength(10 - combined() - deferred());
    const second = (await authorize("5")).data.authorizeHold as { hold: { id: string } };
    const released = await run(`mutation($id: ID!) { releaseHold(input: { holdId: $id }) { ${holdPayload} } }`, {
      id: second.hold.id,
    });
    expect(released.data.releaseHold).toMatchObject({ hold: { state: "RELEASED" }, userErrors: [] });
    // BEGIN; lock the account through the hold; close the hold; the HOLD_RELEASE; the held amount; COMMIT.
    expect(released.statements).toHaveLength(6 - deferred());
  });

  it("a conditional deposit (expected balance and sequence): still 8 (4 on PostgreSQL), the condition is checked on the locked row", async () => {
    // Read before the counted request: what a client would have read earlier.
    const row = await testDatabase.database.read.creditAccount.findUniqueOrThrow({ where: { id: ids.account } });
    const { data, statements } = await run(
      `mutation($id: ID!, $balance: Amount!, $sequence: Int!) { deposit(input: { accountId: $id, amount: "7", idempotencyKey: "count-2", expected: { balance: $balance, sequence: $sequence } }) { accounts { balance } userErrors { code } } }`,
      { id: globalAccount(), balance: row.balance.toString(), sequence: row.entryCount },
    );
    expect(data.deposit).toMatchObject({ userErrors: [] });
    expect(statements).toHaveLength(8 - combined() - deferred(2));
  });

  it("a scheduled deposit with a key: 6 (5 on PostgreSQL), fewer than a deposit's 8 (no entry, no allocation yet), and the payload reads nothing more", async () => {
    const { data, statements } = await run(
      `mutation($id: ID!, $at: DateTime!) { deposit(input: { accountId: $id, amount: "9", effectiveAt: $at, idempotencyKey: "count-scheduled" }) { accounts { balance scheduled } userErrors { code } } }`,
      { id: globalAccount(), at: new Date(clock.getTime() + 30 * 86_400_000).toISOString() },
    );
    expect(data.deposit).toMatchObject({ accounts: [{ scheduled: "9" }], userErrors: [] });
    // BEGIN; lock and read the account; the grant; the action (it names the grant); the account's scheduled
    // amount and next lapse; COMMIT.
    expect(statements).toHaveLength(6 - deferred());
    expect(statements[0]).toMatch(/^BEGIN/);
    expect(statements.at(-1)).toMatch(/^COMMIT/);
    // The action rides with the account's UPDATE.
    expectActionCarriedBy(statements, 3, /\)\s+UPDATE credit_account /);
  });

  it("a read records the deposits of scheduled grants whose time has come in a fixed number of statements, however many", async () => {
    const row = await testDatabase.database.read.creditAccount.findUniqueOrThrow({ where: { id: ids.account } });
    const customerId = row.customerId;
    const scheduledAt = new Date(clock.getTime() + 3_600_000);
    const accountWith = async (count: number) => {
      const account = (
        await must(ledger.openAccount(row.tenantId, { customerId, name: `scheduled ${count}`, currency: "PTS" }))
      ).account;
      for (let i = 0; i < count; i++) {
        await must(ledger.deposit(row.tenantId, { accountId: account.id, amount: 10n, effectiveAt: scheduledAt }));
      }
      return account.id;
    };
    const one = await accountWith(1);
    const five = await accountWith(5);
    clock = new Date(scheduledAt.getTime() + 1);
    // The key's last use is recorded at most once a minute of the clock: not counted below.
    await run("{ __typename }", {});
    const query = `query($id: ID!) { node(id: $id) { ... on CreditAccount { balance scheduled } } }`;
    const first = await run(query, { id: globalId("CreditAccount", one) });
    const second = await run(query, { id: globalId("CreditAccount", five) });
    expect([first.data.node, second.data.node]).toEqual([
      { balance: "10", scheduled: "0" },
      { balance: "50", scheduled: "0" },
    ]);
    // The account; the due accounts; BEGIN; lock them; take the due grants; their deposits; the grants'
    // amounts; lapsed grants and holds (none); the allocations, the entries and the balances (one statement on
    // PostgreSQL); COMMIT; the account.
    expect(first.statements).toHaveLength(14 - combined());
    expect(second.statements).toHaveLength(14 - combined());
  });

  it("transfer: 10 on SQLite, 6 on PostgreSQL", async () => {
    const other = globalId("CreditAccount", ids.expiringAccount);
    const { data, statements } = await run(
      `mutation($from: ID!, $to: ID!) { transfer(input: { sourceAccountId: $from, targetAccountId: $to, amount: "5" }) { accounts { balance } userErrors { code } } }`,
      { from: globalAccount(), to: other },
    );
    expect(data.transfer).toMatchObject({ userErrors: [] });
    // BEGIN; lock both accounts; the action; a page of the source's grants; their amounts; the target's grant;
    // the allocations; the entries; the balances; COMMIT.
    expect(statements).toHaveLength(10 - combined() - deferred(2));
    // The action rides with the read of the source's grants, the target's new grant with the balances.
    expectActionCarriedBy(statements, 2, /\)\s+SELECT /);
    if (deferred())
      expect(statements.at(-2)).toMatch(/^WITH new_grants AS \(INSERT INTO credit_grant .*UPDATE credit_account /s);
  });

  it("a backdated transfer: one statement more than a transfer now, reading the past of both accounts at once", async () => {
    const other = globalId("CreditAccount", ids.expiringAccount);
    // Just after the accounts' first deposits, whose credits the source then spends (and a moment already past
    // when this test runs alone).
    const at = new Date("2026-06-01T10:00:00.500Z");
    if (clock.getTime() <= at.getTime()) clock = new Date("2026-06-01T10:00:01Z");
    const { data, statements } = await run(
      `mutation($from: ID!, $to: ID!, $at: DateTime!) { transfer(input: { sourceAccountId: $from, targetAccountId: $to, amount: "5", effectiveAt: $at }) { accounts { balance } userErrors { code } } }`,
      { from: globalAccount(), to: other, at: at.toISOString() },
    );
    expect(data.transfer).toMatchObject({ userErrors: [] });
    // The source's lowest and the target's highest balance from then on, in one statement for both.
    expect(statements).toHaveLength(11 - combined() - deferred(2));
    const pastReads = statements.filter((statement) => /SUM\(CASE WHEN direction/.test(statement));
    expect(pastReads).toHaveLength(1);
    expect(pastReads[0]).toMatch(/account_id IN \([^)]*,[^)]*\)/);
  });
});
