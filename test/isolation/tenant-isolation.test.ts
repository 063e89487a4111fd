// Tenant isolation through the API, on both engines: with tenant A's key, every entry point that takes an
// ID or an external id is tried with tenant B's, and must answer exactly what it answers for an ID that does
// not exist (null, an empty list, or the same NOT_FOUND user error), byte for byte, so that nothing (not
// even existence) leaks between tenants. Afterwards B's rows must be exactly as they were.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/client.ts";
import { encodeId, type NodeTypeName } from "../../src/schema/ids.ts";
import { createApiFixture, type ApiFixture, type GraphQLBody, type TenantHandle } from "../support/api.ts";
import { snapshot } from "../support/ledger.ts";

interface TenantData {
  customer: string;
  customerExternalId: string;
  account: string;
  /** A second account in the same unit, so transfers within the tenant are possible. */
  otherAccount: string;
  /** An open account with a zero balance: closing it would succeed for its own tenant. */
  emptyAccount: string;
  grant: string;
  action: string;
  store: string;
  storeExternalId: string;
  partner: string;
  partnerExternalId: string;
  idempotencyKey: string;
}

let fixture: ApiFixture;
let tenantB: TenantHandle;
let a: TenantData;
let b: TenantData;

function must<T extends { ok: boolean }>(result: T): T & { ok: true } {
  if (!result.ok) throw new Error(JSON.stringify(result));
  return result as T & { ok: true };
}

/** A tenant with a customer, three accounts, a store, a partner and some history, written through the ledger. */
async function populate(tenantId: string, tag: string): Promise<TenantData> {
  const ledger = fixture.ledger;
  const store = must(await ledger.createStore(tenantId, { name: `${tag} store`, externalId: `${tag}-store` })).store;
  const partner = must(
    await ledger.createPartner(tenantId, { name: `${tag} partner`, externalId: `${tag}-partner` }),
  ).partner;
  const customer = must(
    await ledger.createCustomer(tenantId, {
      externalId: `${tag}-CUST-1`,
      name: `${tag} Customer`,
      email: `${tag.toLowerCase()}@example.com`,
    }),
  ).customer;
  const open = async (name: string) =>
    must(await ledger.openAccount(tenantId, { customerId: customer.id, name, currency: "PTS", overdraftLimit: 0n }))
      .account.id;
  const account = await open("Points");
  const otherAccount = await open("Savings");
  const emptyAccount = await open("Empty");
  const idempotencyKey = `${tag}-deposit-1`;
  const deposit = must(
    await ledger.deposit(tenantId, {
      accountId: account,
      amount: 1000n,
      storeId: store.id,
      partnerId: partner.id,
      idempotencyKey,
      note: `${tag} welcome`,
      grant: { name: `${tag} grant`, priority: 10 },
    }),
  );
  must(await ledger.reduce(tenantId, { accountId: account, amount: 100n, storeId: store.id, note: `${tag} coffee` }));
  must(await ledger.transfer(tenantId, { sourceAccountId: account, targetAccountId: otherAccount, amount: 50n }));
  const grant = deposit.grants[0]?.id;
  if (!grant) throw new Error("The deposit created no grant.");
  return {
    customer: encodeId("Customer", customer.id),
    customerExternalId: customer.externalId,
    account: encodeId("CreditAccount", account),
    otherAccount: encodeId("CreditAccount", otherAccount),
    emptyAccount: encodeId("CreditAccount", emptyAccount),
    grant: encodeId("CreditGrant", grant),
    action: encodeId("CreditAction", deposit.action.id),
    store: encodeId("Store", store.id),
    storeExternalId: `${tag}-store`,
    partner: encodeId("Partner", partner.id),
    partnerExternalId: `${tag}-partner`,
    idempotencyKey,
  };
}

/** A well-formed global ID of the type that names no row at all. */
function missing(type: NodeTypeName): string {
  return encodeId(type, randomUUID());
}

/** Every row that belongs to the tenant, in a stable order, to compare before and after. */
async function tenantRows(database: Database, tenantId: string): Promise<string> {
  const db = database.read;
  const byId = { orderBy: { id: "asc" as const } };
  const rows = await Promise.all([
    db.tenant.findMany({ where: { id: tenantId } }),
    db.apiKey.findMany({ where: { tenantId }, ...byId }),
    db.customer.findMany({ where: { tenantId }, ...byId }),
    db.creditAccount.findMany({ where: { tenantId }, ...byId }),
    db.creditGrant.findMany({ where: { tenantId }, ...byId }),
    db.creditAction.findMany({ where: { tenantId }, ...byId }),
    db.creditEntry.findMany({ where: { tenantId }, ...byId }),
    db.creditAllocation.findMany({
      where: { action: { tenantId } },
      orderBy: [{ actionId: "asc" }, { grantId: "asc" }],
    }),
    db.store.findMany({ where: { tenantId }, ...byId }),
    db.partner.findMany({ where: { tenantId }, ...byId }),
  ]);
  return JSON.stringify(rows, (_key, value) => (typeof value === "bigint" ? `${value}n` : value));
}

let bBefore: string;

beforeAll(async () => {
  fixture = await createApiFixture();
  tenantB = await fixture.createTenant("Tenant B");
  a = await populate(fixture.tenantId, "A");
  b = await populate(tenantB.tenantId, "B");
  bBefore = await tenantRows(fixture.database, tenantB.tenantId);
});

afterAll(async () => {
  await fixture?.drop();
});

/**
 * Asserts the answer's data and that it has no errors. The rest of the body is not compared with a literal,
 * because plugins of the gateway may add response extensions (query cost and the like).
 */
function expectData(body: GraphQLBody, expected: unknown, label?: string): void {
  expect(body.errors, label).toBeUndefined();
  expect(body.data, label).toEqual(expected);
}

/**
 * Sends the request with B's value and with a value that names nothing, as tenant A, and asserts that the two
 * answers are identical. Returns the answer for B's value.
 */
async function sameAsMissing(
  query: string,
  withB: Record<string, unknown>,
  withMissing: Record<string, unknown>,
  language?: string,
) {
  const forB = await fixture.graphql(query, withB, { language });
  const forMissing = await fixture.graphql(query, withMissing, { language });
  expect(forB).toEqual(forMissing);
  return forB;
}

describe("reading another tenant's data with tenant A's key", () => {
  const nodeQuery = `query ($id: ID!) {
    node(id: $id) {
      id
      ... on Customer { externalId name email }
      ... on CreditAccount { accountName: name balance balanceAt(at: "2026-03-01") }
      ... on CreditAction { type amount }
      ... on CreditGrant { remainingAmount }
      ... on Store { storeName: name }
      ... on Partner { partnerName: name }
    }
  }`;

  it("node answers null for each of B's objects, as for an ID that does not exist", async () => {
    const cases: [NodeTypeName, string][] = [
      ["Customer", b.customer],
      ["CreditAccount", b.account],
      ["CreditAction", b.action],
      ["CreditGrant", b.grant],
      ["Store", b.store],
      ["Partner", b.partner],
    ];
    for (const [type, id] of cases) {
      const body = await sameAsMissing(nodeQuery, { id }, { id: missing(type) });
      expectData(body, { node: null }, type);
    }
    // The same query finds A's own objects, so the nulls above are not the query's fault.
    const own = await fixture.data(nodeQuery, { id: a.account });
    expect(own.node).toMatchObject({ id: a.account, accountName: "Points", balance: "850", balanceAt: "0" });
  });

  it("nodes answers null in each of B's places", async () => {
    const ids = [b.customer, b.account, b.otherAccount, b.action, b.grant, b.store, b.partner];
    const missingIds = (
      ["Customer", "CreditAccount", "CreditAccount", "CreditAction", "CreditGrant", "Store", "Partner"] as const
    ).map(missing);
    const query = "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    const body = await sameAsMissing(query, { ids: [a.customer, ...ids] }, { ids: [a.customer, ...missingIds] });
    expect(body.data).toEqual({ nodes: [{ id: a.customer }, ...ids.map(() => null)] });
  });

  it("balanceAt on B's account through node answers null", async () => {
    const query = `query ($id: ID!) { node(id: $id) { ... on CreditAccount { balanceAt(at: "2026-03-01 12:00:00") } } }`;
    const body = await sameAsMissing(query, { id: b.account }, { id: missing("CreditAccount") });
    expectData(body, { node: null });
  });

  it("customer(id:) and customer(externalId:) answer null", async () => {
    const byId = await sameAsMissing(
      "query ($id: ID!) { customer(id: $id) { id name } }",
      { id: b.customer },
      { id: missing("Customer") },
    );
    expectData(byId, { customer: null });
    const query = "query ($externalId: String!) { customer(externalId: $externalId) { id name } }";
    const byExternalId = await sameAsMissing(
      query,
      { externalId: b.customerExternalId },
      { externalId: "NO-SUCH-CUSTOMER" },
    );
    expectData(byExternalId, { customer: null });
    expect((await fixture.data(query, { externalId: a.customerExternalId })).customer).toMatchObject({
      id: a.customer,
    });
  });

  it("customers(search:) finds none of B's customers, by external id, name or email", async () => {
    const query =
      "query ($search: String) { customers(search: $search) { edges { node { id } } pageInfo { hasNextPage } } }";
    for (const search of [b.customerExternalId, "B Customer", "b@example.com", "B-"]) {
      const body = await sameAsMissing(query, { search }, { search: "nothing-matches-this" });
      expect(body.data, search).toEqual({ customers: { edges: [], pageInfo: { hasNextPage: false } } });
    }
    const all = await fixture.data(query, {});
    expect(all.customers.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([a.customer]);
  });

  it("stores and partners list only A's own", async () => {
    const body = await fixture.data("{ stores { edges { node { id } } } partners { edges { node { id } } } }");
    expect(body).toEqual({
      stores: { edges: [{ node: { id: a.store } }] },
      partners: { edges: [{ node: { id: a.partner } }] },
    });
  });

  it("history filters naming B's stores, partners or grant match nothing, as unknown ones do", async () => {
    const query = `query ($externalId: String!, $account: ID!, $filter: CreditHistoryFilter) {
      customer(externalId: $externalId) { history(filter: $filter) { totalCount edges { node { id } } } }
      node(id: $account) { ... on CreditAccount { history(filter: $filter) { totalCount edges { node { id } } } } }
    }`;
    const base = { externalId: a.customerExternalId, account: a.account };
    const filters: [string, unknown, unknown][] = [
      ["stores", [b.store], [missing("Store")]],
      ["partners", [b.partner], [missing("Partner")]],
      ["grant", b.grant, missing("CreditGrant")],
    ];
    const empty = { totalCount: 0, edges: [] };
    for (const [name, bValue, missingValue] of filters) {
      const body = await sameAsMissing(
        query,
        { ...base, filter: { [name]: bValue } },
        { ...base, filter: { [name]: missingValue } },
      );
      expectData(body, { customer: { history: empty }, node: { history: empty } }, name);
    }
    // A's own store, partner and grant do match, so the filters are in force.
    for (const [name, value] of [
      ["stores", [a.store]],
      ["partners", [a.partner]],
      ["grant", a.grant],
    ] as const) {
      const body = await fixture.data(query, { ...base, filter: { [name]: value } });
      expect(body.customer.history.totalCount, name).toBeGreaterThan(0);
    }
  });
});

describe("writing to another tenant's data with tenant A's key", () => {
  const userErrors = "userErrors { code field message }";
  const actionFields = `action { id } accounts { id balance } replayed ${userErrors}`;
  const mutations = {
    deposit: `mutation ($input: DepositInput!) { deposit(input: $input) { ${actionFields} } }`,
    createCreditGrant: `mutation ($input: CreateCreditGrantInput!) { createCreditGrant(input: $input) { ${actionFields} } }`,
    reduce: `mutation ($input: ReduceInput!) { reduce(input: $input) { ${actionFields} } }`,
    transfer: `mutation ($input: TransferInput!) { transfer(input: $input) { ${actionFields} } }`,
    voidCreditGrant: `mutation ($input: VoidCreditGrantInput!) { voidCreditGrant(input: $input) { ${actionFields} } }`,
    reverseCreditAction: `mutation ($input: ReverseCreditActionInput!) { reverseCreditAction(input: $input) { ${actionFields} } }`,
    updateCustomer: `mutation ($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id } ${userErrors} } }`,
    openCreditAccount: `mutation ($input: OpenCreditAccountInput!) { openCreditAccount(input: $input) { account { id } ${userErrors} } }`,
    updateCreditAccount: `mutation ($input: UpdateCreditAccountInput!) { updateCreditAccount(input: $input) { account { id } ${userErrors} } }`,
    closeCreditAccount: `mutation ($input: CloseCreditAccountInput!) { closeCreditAccount(input: $input) { account { id } ${userErrors} } }`,
  } as const;

  type Case = [
    label: string,
    mutation: keyof typeof mutations,
    withB: Record<string, unknown>,
    withMissing: Record<string, unknown>,
    code: string,
  ];

  // Each case: the input naming B's object, the same input naming nothing, and the code both must get.
  const cases = (): Case[] => {
    const account = missing("CreditAccount");
    return [
      [
        "deposit into B's account",
        "deposit",
        { accountId: b.account, amount: "10" },
        { accountId: account, amount: "10" },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "createCreditGrant in B's account",
        "createCreditGrant",
        { accountId: b.account, amount: "10", grant: { name: "x" } },
        { accountId: account, amount: "10", grant: { name: "x" } },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "reduce B's account",
        "reduce",
        { accountId: b.account, amount: "10" },
        { accountId: account, amount: "10" },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "transfer from A to B",
        "transfer",
        { sourceAccountId: a.account, targetAccountId: b.account, amount: "10" },
        { sourceAccountId: a.account, targetAccountId: account, amount: "10" },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "transfer from B to A",
        "transfer",
        { sourceAccountId: b.account, targetAccountId: a.account, amount: "10" },
        { sourceAccountId: account, targetAccountId: a.account, amount: "10" },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "transfer between two of B's accounts",
        "transfer",
        { sourceAccountId: b.account, targetAccountId: b.otherAccount, amount: "10" },
        { sourceAccountId: account, targetAccountId: missing("CreditAccount"), amount: "10" },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "voidCreditGrant on B's grant",
        "voidCreditGrant",
        { grantId: b.grant },
        { grantId: missing("CreditGrant") },
        "GRANT_NOT_FOUND",
      ],
      [
        "reverseCreditAction on B's action",
        "reverseCreditAction",
        { actionId: b.action },
        { actionId: missing("CreditAction") },
        "ACTION_NOT_FOUND",
      ],
      [
        "updateCustomer on B's customer",
        "updateCustomer",
        { customerId: b.customer, name: "Mallory" },
        { customerId: missing("Customer"), name: "Mallory" },
        "CUSTOMER_NOT_FOUND",
      ],
      [
        "openCreditAccount for B's customer",
        "openCreditAccount",
        { customerId: b.customer, name: "Sneaky", currency: "PTS" },
        { customerId: missing("Customer"), name: "Sneaky", currency: "PTS" },
        "CUSTOMER_NOT_FOUND",
      ],
      [
        "updateCreditAccount on B's account",
        "updateCreditAccount",
        { accountId: b.account, name: "Mine" },
        { accountId: account, name: "Mine" },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "updateCreditAccount raising the overdraft of B's account",
        "updateCreditAccount",
        { accountId: b.account, overdraftLimit: "1000000" },
        { accountId: account, overdraftLimit: "1000000" },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "closeCreditAccount on B's empty account",
        "closeCreditAccount",
        { accountId: b.emptyAccount },
        { accountId: account },
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "deposit into A's account at B's store",
        "deposit",
        { accountId: a.account, amount: "10", storeId: b.store },
        { accountId: a.account, amount: "10", storeId: missing("Store") },
        "STORE_NOT_FOUND",
      ],
      [
        "reduce A's account through B's partner",
        "reduce",
        { accountId: a.account, amount: "10", partnerId: b.partner },
        { accountId: a.account, amount: "10", partnerId: missing("Partner") },
        "PARTNER_NOT_FOUND",
      ],
      [
        "transfer within A at B's store",
        "transfer",
        { sourceAccountId: a.account, targetAccountId: a.otherAccount, amount: "10", storeId: b.store },
        { sourceAccountId: a.account, targetAccountId: a.otherAccount, amount: "10", storeId: missing("Store") },
        "STORE_NOT_FOUND",
      ],
    ];
  };

  it("every mutation refuses B's IDs exactly as IDs that do not exist, in both languages, and writes nothing", async () => {
    const before = await snapshot(fixture.database);
    for (const [label, mutation, withB, withMissing, code] of cases()) {
      for (const language of ["en", "cs"]) {
        const body = (await sameAsMissing(
          mutations[mutation],
          { input: withB },
          { input: withMissing },
          language,
        )) as GraphQLBody;
        expect(body.errors, label).toBeUndefined();
        const payload = body.data?.[mutation] as { userErrors: { code: string }[] };
        expect(
          payload.userErrors.map((error) => error.code),
          label,
        ).toEqual([code]);
      }
    }
    // Not one row changed anywhere: neither B's data nor A's (every request above was refused).
    expect(await snapshot(fixture.database)).toBe(before);
  });

  it("B's external ids and idempotency keys are free for A to use, as unused ones are", async () => {
    const createCustomer = `mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { externalId } userErrors { code } } }`;
    const customer = await fixture.data(createCustomer, {
      input: { externalId: b.customerExternalId, name: "A's own" },
    });
    expect(customer.createCustomer).toEqual({ customer: { externalId: b.customerExternalId }, userErrors: [] });
    const createStore = `mutation ($input: CreateStoreInput!) { createStore(input: $input) { store { externalId } userErrors { code } } }`;
    const store = await fixture.data(createStore, { input: { name: "A's", externalId: b.storeExternalId } });
    expect(store.createStore).toEqual({ store: { externalId: b.storeExternalId }, userErrors: [] });
    const createPartner = `mutation ($input: CreatePartnerInput!) { createPartner(input: $input) { partner { externalId } userErrors { code } } }`;
    const partner = await fixture.data(createPartner, { input: { name: "A's", externalId: b.partnerExternalId } });
    expect(partner.createPartner).toEqual({ partner: { externalId: b.partnerExternalId }, userErrors: [] });
    // B used this idempotency key for a deposit of 1000; for A it is a new key, not a replay or a reuse.
    const deposit = await fixture.data(mutations.deposit, {
      input: { accountId: a.account, amount: "7", idempotencyKey: b.idempotencyKey },
    });
    expect(deposit.deposit).toMatchObject({
      replayed: false,
      userErrors: [],
      accounts: [{ id: a.account, balance: "857" }],
    });
  });

  it("leaves every row of B exactly as it was", async () => {
    expect(await tenantRows(fixture.database, tenantB.tenantId)).toBe(bBefore);
    // And B still reads its own data through its own key.
    const own = await fixture.data(
      "query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance } } }",
      { id: b.account },
      { key: tenantB.key },
    );
    expect(own.node).toEqual({ balance: "850" });
    expect(await fixture.ledger.verify({ tenantId: tenantB.tenantId })).toEqual([]);
    expect(await fixture.ledger.verify({ tenantId: fixture.tenantId })).toEqual([]);
  });
});
