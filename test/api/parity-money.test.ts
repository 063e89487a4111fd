// Parity of writes and balances with the APIs the gateway replaces (Inveterate, Stripe's credit grants and
// balance transactions) and with what a good ledger must guarantee: idempotent writes, no money created or
// lost, no double spend, typed errors with nothing written, tenant isolation, refetchable nodes, exact
// amounts and times in the tenant's zone. Everything goes through the gateway's HTTP handler.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { sql } from "../../src/db/sql.ts";
import { type ApiFixture, createApiFixture, type TenantHandle, type UserErrorBody } from "../support/api.ts";
import { actionFields, globalId, historyPage, rawId } from "./history-model.ts";

let api: ApiFixture;

beforeAll(async () => {
  api = await createApiFixture();
});

afterAll(async () => {
  await api?.drop();
});

const mutations = {
  deposit: "DepositInput",
  reduce: "ReduceInput",
  transfer: "TransferInput",
  createCreditGrant: "CreateCreditGrantInput",
  voidCreditGrant: "VoidCreditGrantInput",
  reverseCreditAction: "ReverseCreditActionInput",
  openCreditAccount: "OpenCreditAccountInput",
  updateCreditAccount: "UpdateCreditAccountInput",
  closeCreditAccount: "CloseCreditAccountInput",
  createCustomer: "CreateCustomerInput",
  updateCustomer: "UpdateCustomerInput",
} as const;

type MutationName = keyof typeof mutations;

const payloadFields: Record<MutationName, string> = {
  deposit: `action { ${actionFields} grant { id } } accounts { id balance available } replayed`,
  reduce: `action { ${actionFields} allocations { grant { id } amount direction } } accounts { id balance available } replayed`,
  transfer: `action { ${actionFields} entries { account { id } direction amount balanceBefore balanceAfter sequence } } accounts { id balance } replayed`,
  createCreditGrant: `action { id grant { id } } accounts { id balance } replayed`,
  voidCreditGrant: `action { id type amount grant { id } } accounts { id balance } replayed`,
  reverseCreditAction: `action { id type amount reverses { id } } accounts { id balance } replayed`,
  openCreditAccount: `account { id }`,
  updateCreditAccount: `account { id }`,
  closeCreditAccount: `account { id status }`,
  createCustomer: `customer { id }`,
  updateCustomer: `customer { id }`,
};

/** Runs a mutation and returns its payload; top-level errors fail the test. */
async function mutate(
  name: MutationName,
  input: Record<string, unknown>,
  options: { key?: string; language?: string; keyHeader?: "x-api-key" } = {},
) {
  const data = await api.data(
    `mutation ($input: ${mutations[name]}!) { ${name}(input: $input) { ${payloadFields[name]} userErrors { code field message } } }`,
    { input },
    options,
  );
  return data[name] as { userErrors: UserErrorBody[]; [field: string]: any };
}

/** Runs a mutation that must succeed and returns its payload. */
async function ok(
  name: MutationName,
  input: Record<string, unknown>,
  options: { key?: string; keyHeader?: "x-api-key" } = {},
) {
  const payload = await mutate(name, input, options);
  expect(payload.userErrors).toEqual([]);
  return payload;
}

/** Runs a mutation that must be refused with the code (and field) and proves that nothing was written. */
async function refused(
  name: MutationName,
  input: Record<string, unknown>,
  code: string,
  field?: string[] | null,
  options: { key?: string; language?: string } = {},
) {
  const before = await api.snapshot();
  const payload = await mutate(name, input, options);
  expect({ name, code, errors: payload.userErrors.map((error) => error.code) }).toEqual({ name, code, errors: [code] });
  const error = payload.userErrors[0]!;
  if (field !== undefined) expect({ code, field: error.field }).toEqual({ code, field });
  expect(error.message.length).toBeGreaterThan(10);
  for (const result of ["action", "account", "customer"]) if (result in payload) expect(payload[result]).toBeNull();
  expect(await api.snapshot()).toBe(before);
  return error;
}

let customers = 0;

/** A new customer with one open account; returns both global IDs. */
async function newAccount(options: { currency?: string; overdraftLimit?: string; name?: string } = {}) {
  const customer = await api.createCustomer(`money-${++customers}`);
  const account = await api.openAccount(customer, options);
  return { customer, account };
}

async function balanceOf(accountId: string): Promise<string> {
  return (await api.data(`query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance } } }`, { id: accountId }))
    .node.balance;
}

/** A well-formed global ID of the type that names no object. */
const missing = (type: string) => globalId(type, "01900000-0000-7000-8000-000000000000");

// First, while the clock still shows winter time in Prague; later tests move the clock forward.
describe("Times", () => {
  it("DateTime outputs carry the tenant's offset: +01:00 in winter, +02:00 in summer, and local input across DST changes", async () => {
    const { account } = await newAccount();
    const winter = await ok("deposit", { accountId: account, amount: "1", effectiveAt: "2026-01-15 08:30:00" });
    expect(winter.action.effectiveAt).toBe("2026-01-15T08:30:00.000+01:00");
    expect(winter.action.createdAt).toBe(formatPrague(api.now()));
    expect(winter.action.createdAt).toMatch(/\+01:00$/);
    const summer = await ok("deposit", { accountId: account, amount: "1", effectiveAt: "2025-07-01T07:00:00Z" });
    expect(summer.action.effectiveAt).toBe("2025-07-01T09:00:00.000+02:00");
    // 02:30 does not exist on 29 March 2026 (clocks jump from 02:00 to 03:00); 02:30 on 26 October 2025 happens twice.
    api.advance(40 * 24 * 3_600_000);
    const gap = await ok("deposit", { accountId: account, amount: "1", effectiveAt: "2026-03-29 02:30:00" });
    expect(gap.action.effectiveAt).toBe("2026-03-29T03:30:00.000+02:00");
    const overlap = await ok("deposit", { accountId: account, amount: "1", effectiveAt: "2025-10-26 02:30:00" });
    expect(overlap.action.effectiveAt).toBe("2025-10-26T02:30:00.000+02:00");
    expect(gap.action.createdAt).toMatch(/^2026-04-1\dT\d\d:\d\d:00\.000\+02:00$/);
    const customer = await api.data(
      `query ($id: ID!) { node(id: $id) { ... on CreditAccount { createdAt updatedAt customer { createdAt } } } }`,
      { id: account },
    );
    for (const value of [customer.node.createdAt, customer.node.customer.createdAt]) expect(value).toMatch(/\+01:00$/);
    expect(customer.node.updatedAt).toMatch(/\+02:00$/);
  });
});

describe("Inveterate", () => {
  it("Inveterate deposit/reduce: a non-zero amount and an optional note; the new balance comes back and the next read sees it", async () => {
    const { account } = await newAccount();
    const deposited = await ok(
      "deposit",
      { accountId: account, amount: "250", note: "Welcome points" },
      { keyHeader: "x-api-key" },
    );
    expect(deposited.accounts).toEqual([{ id: account, balance: "250", available: "250" }]);
    expect(deposited.action.note).toBe("Welcome points");
    expect(await balanceOf(account)).toBe("250");
    const reduced = await ok("reduce", { accountId: account, amount: 100 });
    expect(reduced.accounts).toEqual([{ id: account, balance: "150", available: "150" }]);
    expect(reduced.action.note).toBeNull();
    expect(await balanceOf(account)).toBe("150");
  });

  it("Inveterate amounts: zero, negative, fractional and out-of-range amounts are refused with a clear error and nothing is written", async () => {
    const { account } = await newAccount();
    await ok("deposit", { accountId: account, amount: "100" });
    for (const name of ["deposit", "reduce"] as const) {
      await refused(name, { accountId: account, amount: "0" }, "AMOUNT_NOT_POSITIVE", ["input", "amount"]);
      await refused(name, { accountId: account, amount: "-5" }, "AMOUNT_NOT_POSITIVE", ["input", "amount"]);
      await refused(name, { accountId: account, amount: -5 }, "AMOUNT_NOT_POSITIVE", ["input", "amount"]);
      for (const [amount, code] of [
        [1.5, "INVALID_AMOUNT"],
        ["1.5", "INVALID_AMOUNT"],
        ["1e3", "INVALID_AMOUNT"],
        [" 10", "INVALID_AMOUNT"],
        [true, "INVALID_AMOUNT"],
        [9007199254740993, "INVALID_AMOUNT"],
        ["9223372036854775808", "AMOUNT_OUT_OF_RANGE"],
        ["-9223372036854775809", "AMOUNT_OUT_OF_RANGE"],
      ] as const) {
        const before = await api.snapshot();
        const body = await api.graphql(
          `mutation ($input: ${name === "deposit" ? "DepositInput" : "ReduceInput"}!) { ${name}(input: $input) { action { id } userErrors { code } } }`,
          { input: { accountId: account, amount } },
        );
        expect({ amount, codes: body.errors?.map((error) => error.extensions?.code) }).toEqual({
          amount,
          codes: [code],
        });
        expect(body.errors![0]!.message.length).toBeGreaterThan(20);
        expect(body.data ?? null).toBeNull();
        expect(await api.snapshot()).toBe(before);
      }
    }
    // A client used to one signed amount is told which mutation takes it.
    const signed = await api.data(
      `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code field message } } }`,
      { input: { accountId: account, amount: "-5", note: "Refund" } },
    );
    expect(signed.deposit.userErrors).toEqual([
      {
        code: "AMOUNT_NOT_POSITIVE",
        field: ["input", "amount"],
        message: "The amount must be greater than zero; got -5. To take credits off, use reduce with the amount 5.",
      },
    ]);
    // Unless that mutation could not take it either: the 64-bit minimum has no positive counterpart.
    const lowest = await api.data(
      `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code message } } }`,
      { input: { accountId: account, amount: "-9223372036854775808" } },
    );
    expect(lowest.deposit.userErrors).toEqual([
      {
        code: "AMOUNT_NOT_POSITIVE",
        message: "The amount must be greater than zero; got -9223372036854775808.",
      },
    ]);
    const czech = await api.data(
      `mutation ($input: ReduceInput!) { reduce(input: $input) { userErrors { message } } }`,
      { input: { accountId: account, amount: -7 } },
      { language: "cs" },
    );
    expect(czech.reduce.userErrors[0].message).toBe(
      "Částka musí být větší než nula; zadáno -7. Kredity přičtete operací deposit s částkou 7.",
    );
    // A fraction written into the query itself is refused the same way.
    const literal = await api.graphql(
      `mutation { deposit(input: { accountId: "${account}", amount: 2.5 }) { userErrors { code } } }`,
    );
    expect(literal.errors?.map((error) => error.extensions?.code)).toEqual(["INVALID_AMOUNT"]);
    expect(await balanceOf(account)).toBe("100");
  });

  it("Inveterate X-Api-Key per tenant: a key never reaches another tenant's data by any path", async () => {
    const other: TenantHandle = await api.createTenant("Other tenant");
    const asOther = { key: other.key };
    // The other tenant has a customer with the same external id as one of ours, and one we do not have.
    const ours = await api.createCustomer("shared-ext");
    const ourAccount = await api.openAccount(ours, { currency: "PTS" });
    await ok("deposit", { accountId: ourAccount, amount: "100", idempotencyKey: "shared-key-1" });
    const theirCustomer = await api.createCustomer("shared-ext", asOther);
    const theirOnly = await api.createCustomer("only-theirs", asOther);
    const theirAccount = await api.openAccount(theirCustomer, { currency: "PTS", ...asOther });
    const theirStore = await api.createStore("Their store", asOther);
    const theirPartner = await api.createPartner("Their partner", asOther);
    const theirDeposit = await ok(
      "deposit",
      {
        accountId: theirAccount,
        amount: "900",
        storeId: theirStore,
        partnerId: theirPartner,
        idempotencyKey: "shared-key-1",
      },
      asOther,
    );
    // The same idempotency key in another tenant is another request, not a replay of ours.
    expect(theirDeposit.replayed).toBe(false);
    const theirAction = theirDeposit.action.id as string;
    const theirGrant = theirDeposit.action.grant.id as string;
    const theirs = {
      Customer: theirCustomer,
      CreditAccount: theirAccount,
      Store: theirStore,
      Partner: theirPartner,
      CreditAction: theirAction,
      CreditGrant: theirGrant,
    };

    const x = { keyHeader: "x-api-key" as const };
    for (const [type, id] of Object.entries(theirs)) {
      const seen = await api.graphql(`query ($id: ID!) { node(id: $id) { id } }`, { id }, x);
      const nothing = await api.graphql(`query ($id: ID!) { node(id: $id) { id } }`, { id: missing(type) }, x);
      expect({ type, data: seen.data, errors: seen.errors }).toEqual({ type, data: { node: null }, errors: undefined });
      expect(seen).toEqual(nothing);
    }
    const many = await api.data(
      `query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
      { ids: [...Object.values(theirs), ours] },
      x,
    );
    expect(many.nodes).toEqual([null, null, null, null, null, null, { id: ours }]);
    expect(
      (await api.data(`query ($id: ID!) { customer(id: $id) { id } }`, { id: theirCustomer }, x)).customer,
    ).toBeNull();
    expect((await api.data(`{ customer(externalId: "only-theirs") { id } }`, {}, x)).customer).toBeNull();
    expect((await api.data(`{ customer(externalId: "shared-ext") { id } }`, {}, x)).customer).toEqual({ id: ours });
    expect((await api.data(`{ customers(search: "only") { edges { node { id } } } }`, {}, x)).customers.edges).toEqual(
      [],
    );
    const lists = await api.data(
      `{ stores(first: 100) { edges { node { id } } } partners(first: 100) { edges { node { id } } } }`,
      {},
      x,
    );
    expect(JSON.stringify(lists)).not.toContain(theirStore);
    expect(JSON.stringify(lists)).not.toContain(theirPartner);
    // Their IDs in our history filters match nothing of ours and reveal nothing of theirs.
    for (const filter of [{ stores: [theirStore] }, { partners: [theirPartner] }, { grant: theirGrant }]) {
      const page = await historyPage(api, ours, "customer", { filter });
      expect(page.edges).toEqual([]);
    }
    void theirOnly;

    // Every mutation treats their IDs exactly like IDs that name nothing.
    const cases: [MutationName, (id: (type: keyof typeof theirs) => string) => Record<string, unknown>, string][] = [
      ["deposit", (id) => ({ accountId: id("CreditAccount"), amount: "5" }), "ACCOUNT_NOT_FOUND"],
      ["createCreditGrant", (id) => ({ accountId: id("CreditAccount"), amount: "5" }), "ACCOUNT_NOT_FOUND"],
      ["reduce", (id) => ({ accountId: id("CreditAccount"), amount: "5" }), "ACCOUNT_NOT_FOUND"],
      [
        "transfer",
        (id) => ({ sourceAccountId: ourAccount, targetAccountId: id("CreditAccount"), amount: "5" }),
        "ACCOUNT_NOT_FOUND",
      ],
      [
        "transfer",
        (id) => ({ sourceAccountId: id("CreditAccount"), targetAccountId: ourAccount, amount: "5" }),
        "ACCOUNT_NOT_FOUND",
      ],
      ["deposit", (id) => ({ accountId: ourAccount, amount: "5", storeId: id("Store") }), "STORE_NOT_FOUND"],
      ["deposit", (id) => ({ accountId: ourAccount, amount: "5", partnerId: id("Partner") }), "PARTNER_NOT_FOUND"],
      ["voidCreditGrant", (id) => ({ grantId: id("CreditGrant") }), "GRANT_NOT_FOUND"],
      ["reverseCreditAction", (id) => ({ actionId: id("CreditAction") }), "ACTION_NOT_FOUND"],
      [
        "openCreditAccount",
        (id) => ({ customerId: id("Customer"), currency: "PTS", name: "Sneaky" }),
        "CUSTOMER_NOT_FOUND",
      ],
      ["updateCustomer", (id) => ({ customerId: id("Customer"), name: "Renamed" }), "CUSTOMER_NOT_FOUND"],
      ["updateCreditAccount", (id) => ({ accountId: id("CreditAccount"), name: "Renamed" }), "ACCOUNT_NOT_FOUND"],
      ["closeCreditAccount", (id) => ({ accountId: id("CreditAccount") }), "ACCOUNT_NOT_FOUND"],
    ];
    for (const [name, input, code] of cases) {
      const theirError = await refused(
        name,
        input((type) => theirs[type]),
        code,
      );
      const missingError = await refused(
        name,
        input((type) => missing(type)),
        code,
      );
      expect({ name, error: theirError }).toEqual({ name, error: missingError });
    }
    // Their data is as they left it.
    const theirView = await api.data(
      `query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance name history { totalCount } } } }`,
      { id: theirAccount },
      asOther,
    );
    expect(theirView.node).toEqual({ balance: "900", name: "Body", history: { totalCount: 1 } });
  });
});

describe("API key scopes", () => {
  it("Inveterate per-tenant API keys: a key with only the read scope reads but cannot write", async () => {
    const { account } = await newAccount();
    await ok("deposit", { accountId: account, amount: "50" });
    const { secret } = await createApiKey(api.database, {
      tenantId: api.tenantId,
      name: "Read only",
      scopes: ["read"],
    });
    expect(
      await api.data(
        `query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance } } }`,
        { id: account },
        { key: secret },
      ),
    ).toEqual({ node: { balance: "50" } });
    const before = await api.snapshot();
    const body = await api.graphql(
      `mutation ($input: ReduceInput!) { reduce(input: $input) { action { id } userErrors { code } } }`,
      { input: { accountId: account, amount: "5" } },
      { key: secret },
    );
    // Refused either as a top-level error or as a user error; what matters is that nothing was written.
    const refusedAtTop = (body.errors?.length ?? 0) > 0;
    const refusedInPayload = (body.data as any)?.reduce?.userErrors?.length > 0;
    expect({ refused: refusedAtTop || refusedInPayload, action: (body.data as any)?.reduce?.action ?? null }).toEqual({
      refused: true,
      action: null,
    });
    expect(await api.snapshot()).toBe(before);
  });
});

describe("Stripe credit grants and balance transactions", () => {
  it("Stripe credit grants: amount, category paid/promotional, priority, effective_at, expires_at and voided_at", async () => {
    const { account } = await newAccount({ currency: "USD" });
    const created = await ok("createCreditGrant", {
      accountId: account,
      amount: "5000",
      effectiveAt: "2026-02-01 08:00:00",
      externalReference: "invoice:in_9/line:il_1",
      grant: { category: "PROMOTIONAL", priority: 10, expiresAt: "2026-04-15 00:00:00", name: "Spring campaign" },
    });
    const grantId = created.action.grant.id as string;
    const paid = await ok("deposit", { accountId: account, amount: "700" });
    const grant = await api.data(
      `query ($id: ID!) { node(id: $id) { __typename ... on CreditGrant {
        id name category priority originalAmount remainingAmount state effectiveAt expiresAt voidedAt externalReference createdAt
        account { id } createdBy { id } } } }`,
      { id: grantId },
    );
    expect(grant.node).toEqual({
      __typename: "CreditGrant",
      id: grantId,
      name: "Spring campaign",
      category: "PROMOTIONAL",
      priority: 10,
      originalAmount: "5000",
      remainingAmount: "5000",
      state: "ACTIVE",
      effectiveAt: "2026-02-01T08:00:00.000+01:00",
      // Prague is on summer time by mid-April.
      expiresAt: "2026-04-15T00:00:00.000+02:00",
      voidedAt: null,
      externalReference: "invoice:in_9/line:il_1",
      createdAt: formatPrague(api.now()),
      account: { id: account },
      createdBy: { id: created.action.id },
    });
    const defaults = await api.data(
      `query ($id: ID!) { node(id: $id) { ... on CreditGrant { category priority expiresAt } } }`,
      { id: paid.action.grant.id },
    );
    expect(defaults.node).toEqual({ category: "PAID", priority: 50, expiresAt: null });
    const active = await api.data(
      `query ($id: ID!) { node(id: $id) { ... on CreditAccount { grants(state: ACTIVE) { edges { node { id } } } } } }`,
      { id: account },
    );
    expect(active.node.grants.edges.map((edge: any) => edge.node.id)).toEqual([grantId, paid.action.grant.id]);

    api.advance(60_000);
    const voidedAt = new Date(api.now().getTime() - 30_000);
    const voided = await ok("voidCreditGrant", {
      grantId,
      effectiveAt: voidedAt.toISOString(),
      note: "campaign cancelled",
    });
    expect(voided.action).toEqual({ id: expect.any(String), type: "VOID", amount: "5000", grant: { id: grantId } });
    expect(voided.accounts).toEqual([{ id: account, balance: "700" }]);
    const after = await api.data(
      `query ($id: ID!) { node(id: $id) { ... on CreditGrant { state voidedAt remainingAmount } } }`,
      { id: grantId },
    );
    expect(after.node).toEqual({ state: "VOIDED", voidedAt: formatPrague(voidedAt), remainingAmount: "0" });
    await refused("voidCreditGrant", { grantId }, "GRANT_NOT_ACTIVE", ["input", "grantId"]);
  });

  it("Stripe reductions consume grants by priority, then soonest expiry, then oldest", async () => {
    const { account } = await newAccount({ currency: "USD" });
    const grant = async (amount: string, options: Record<string, unknown>, effectiveAt?: string) =>
      (
        await ok("createCreditGrant", {
          accountId: account,
          amount,
          grant: options,
          ...(effectiveAt ? { effectiveAt } : {}),
        })
      ).action.grant.id as string;
    const oldNever = await grant("100", { priority: 50 }, "2026-01-10 10:00:00");
    const june = await grant("100", { priority: 50, expiresAt: "2026-06-01" });
    const promo = await grant("50", { priority: 10, category: "PROMOTIONAL" });
    const may = await grant("100", { priority: 50, expiresAt: "2026-05-01" });
    const newNever = await grant("100", { priority: 50 }, "2026-02-10 10:00:00");

    const first = await ok("reduce", { accountId: account, amount: "180" });
    expect(first.action.allocations).toEqual(
      expect.arrayContaining([
        { grant: { id: promo }, amount: "50", direction: "DEBIT" },
        { grant: { id: may }, amount: "100", direction: "DEBIT" },
        { grant: { id: june }, amount: "30", direction: "DEBIT" },
      ]),
    );
    expect(first.action.allocations).toHaveLength(3);
    const second = await ok("reduce", { accountId: account, amount: "150" });
    expect(second.action.allocations).toEqual(
      expect.arrayContaining([
        { grant: { id: june }, amount: "70", direction: "DEBIT" },
        { grant: { id: oldNever }, amount: "80", direction: "DEBIT" },
      ]),
    );
    expect(second.action.allocations).toHaveLength(2);
    const remaining = await api.data(
      `query ($ids: [ID!]!) { nodes(ids: $ids) { ... on CreditGrant { id remainingAmount state } } }`,
      {
        ids: [oldNever, june, promo, may, newNever],
      },
    );
    expect(remaining.nodes).toEqual([
      { id: oldNever, remainingAmount: "20", state: "ACTIVE" },
      { id: june, remainingAmount: "0", state: "DEPLETED" },
      { id: promo, remainingAmount: "0", state: "DEPLETED" },
      { id: may, remainingAmount: "0", state: "DEPLETED" },
      { id: newNever, remainingAmount: "100", state: "ACTIVE" },
    ]);
    expect(await balanceOf(account)).toBe("120");

    // Stripe's credit_grant filter: only the actions that filled or spent the grant.
    const ofGrant = async (grantId: string) =>
      (
        await historyPage(api, account, "account", {
          filter: { grant: grantId },
          orderBy: { field: "ID", direction: "ASC" },
        })
      ).edges.map((edge) => edge.node.id);
    const depositOf = async (grantId: string) =>
      (
        await api.data(`query ($id: ID!) { node(id: $id) { ... on CreditGrant { createdBy { id } } } }`, {
          id: grantId,
        })
      ).node.createdBy.id;
    expect(await ofGrant(june)).toEqual([await depositOf(june), first.action.id, second.action.id]);
    expect(await ofGrant(promo)).toEqual([await depositOf(promo), first.action.id]);
    expect(await ofGrant(newNever)).toEqual([await depositOf(newNever)]);
    const wrongType = await api.graphql(
      `query ($id: ID!, $g: ID!) { node(id: $id) { ... on CreditAccount { history(filter: { grant: $g }) { totalCount } } } }`,
      { id: account, g: account },
    );
    expect(wrongType.errors?.map((error) => error.extensions?.code)).toEqual(["INVALID_ID"]);
  });

  it("Stripe expiry and voids are ledger entries, effective when the grant lapsed", async () => {
    const { account } = await newAccount({ currency: "USD" });
    const expiresAt = new Date(api.now().getTime() + 2 * 24 * 3_600_000 + 90 * 60_000);
    const expiring = (
      await ok("createCreditGrant", {
        accountId: account,
        amount: "400",
        grant: { expiresAt: formatPrague(expiresAt) },
      })
    ).action.grant.id;
    const kept = (await ok("createCreditGrant", { accountId: account, amount: "250" })).action.grant.id;
    await ok("reduce", { accountId: account, amount: "100" });
    expect(await balanceOf(account)).toBe("550");

    api.advance(3 * 24 * 3_600_000);
    // Reading is enough: the expiration is recorded before any balance or history is shown.
    expect(await balanceOf(account)).toBe("250");
    const page = await historyPage(api, account, "account", { orderBy: { field: "ID", direction: "ASC" } });
    const expiration = page.edges.at(-1)!;
    expect(expiration.node).toMatchObject({
      type: "EXPIRATION",
      amount: "300",
      currency: "USD",
      effectiveAt: formatPrague(expiresAt),
      initiator: { type: "SYSTEM", id: null },
      sourceAccount: { id: account },
      targetAccount: null,
      sourceBalanceBefore: "550",
      sourceBalanceAfter: "250",
    });
    expect(expiration.direction).toBe("DEBIT");
    const grant = await api.data(
      `query ($id: ID!) { node(id: $id) { ... on CreditGrant { state remainingAmount } } }`,
      { id: expiring },
    );
    expect(grant.node).toEqual({ state: "EXPIRED", remainingAmount: "0" });
    // An expiration is not undone by a reversal.
    await refused("reverseCreditAction", { actionId: expiration.node.id }, "NOT_REVERSIBLE");

    const voided = await ok("voidCreditGrant", { grantId: kept });
    const voidPage = await historyPage(api, account, "account", {
      first: 1,
      filter: { types: ["VOID", "EXPIRATION"] },
      orderBy: { field: "ID", direction: "DESC" },
    });
    expect(voidPage.edges.map((edge) => [edge.node.id, edge.node.type, edge.amount, edge.balanceAfter])).toEqual([
      [voided.action.id, "VOID", "250", "0"],
    ]);
    expect(voidPage.totalCount).toBe(2);
    expect(await balanceOf(account)).toBe("0");
  });

  it("a reversal that gives credits back to a grant that was voided, or expired, since voids or expires them again at once", async () => {
    for (const lapse of ["VOID", "EXPIRATION"] as const) {
      const { account } = await newAccount({ currency: "USD" });
      const expiresAt = new Date(api.now().getTime() + 24 * 3_600_000);
      const grantId = (
        await ok("createCreditGrant", {
          accountId: account,
          amount: "40",
          grant: lapse === "EXPIRATION" ? { expiresAt: formatPrague(expiresAt) } : {},
        })
      ).action.grant.id;
      const reduction = await ok("reduce", { accountId: account, amount: "30" });
      if (lapse === "VOID") await ok("voidCreditGrant", { grantId });
      else api.advance(2 * 24 * 3_600_000);
      expect(await balanceOf(account)).toBe("0");
      const reversal = await ok("reverseCreditAction", { actionId: reduction.action.id });
      // The 30 came back to the grant they were spent from, which no longer holds credits: they leave again.
      expect(reversal.accounts).toEqual([{ id: account, balance: "0" }]);
      const page = await historyPage(api, account, "account", { orderBy: { field: "ID", direction: "ASC" } });
      expect(page.edges.map((edge) => [edge.node.type, edge.direction, edge.amount, edge.balanceAfter])).toEqual([
        ["DEPOSIT", "CREDIT", "40", "40"],
        ["REDUCTION", "DEBIT", "30", "10"],
        [lapse, "DEBIT", "10", "0"],
        ["REVERSAL", "CREDIT", "30", "30"],
        [lapse, "DEBIT", "30", "0"],
      ]);
      const grant = await api.data(
        `query ($id: ID!) { node(id: $id) { ... on CreditGrant { state remainingAmount } } }`,
        { id: grantId },
      );
      expect(grant.node).toEqual({ state: lapse === "VOID" ? "VOIDED" : "EXPIRED", remainingAmount: "0" });
    }
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("Stripe exact integer amounts with currency, never floats: Amount strings are exact at 9223372036854775807", async () => {
    const { customer, account } = await newAccount({ currency: "USD" });
    const max = "9223372036854775807";
    const deposited = await ok("deposit", { accountId: account, amount: max });
    expect(deposited.accounts).toEqual([{ id: account, balance: max, available: max }]);
    expect(deposited.action).toMatchObject({
      amount: max,
      currency: "USD",
      targetBalanceBefore: "0",
      targetBalanceAfter: max,
    });
    const page = await historyPage(api, account, "account");
    expect(page.edges.map((edge) => [edge.amount, edge.balanceAfter])).toEqual([[max, max]]);
    await refused("deposit", { accountId: account, amount: "1" }, "BALANCE_OUT_OF_RANGE", ["input", "amount"]);
    const reduced = await ok("reduce", { accountId: account, amount: "9223372036854775806" });
    expect(reduced.accounts[0].balance).toBe("1");
    const balances = await api.data(
      `query ($id: ID!) { customer(id: $id) { balances { currency balance available } } }`,
      { id: customer },
    );
    expect(balances.customer.balances).toEqual([{ currency: "USD", balance: "1", available: "1" }]);
    // The raw JSON carries the digits as a string, never as a (rounded) number.
    const raw = await api.gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${api.key}` },
      body: JSON.stringify({
        query: `query ($id: ID!) { node(id: $id) { ... on CreditAccount { history { edges { amount } } } } }`,
        variables: { id: account },
      }),
    });
    expect(await raw.text()).toContain(`"amount":"${max}"`);
  });

  it("a backdated write over credits that add up beyond the 64-bit range is answered exactly, never as a fault", async () => {
    const { account } = await newAccount({ currency: "USD" });
    const { account: target } = await newAccount({ currency: "USD" });
    const max = "9223372036854775807";
    const before = new Date(api.now().getTime() - 60_000).toISOString();
    // The account's credits add up to 2^64 - 2 and its debits nearly as much, past what SQLite's SUM can hold;
    // its balance is 100 now and was the maximum twice.
    for (const [write, amount] of [
      ["deposit", max],
      ["reduce", max],
      ["deposit", max],
      ["reduce", "9223372036854775707"],
    ] as const) {
      api.advance(1000);
      await ok(write, { accountId: account, amount });
    }
    const lastWriteAt = api.now().getTime();
    const at = (offsetMs: number) => new Date(lastWriteAt + offsetMs).toISOString();
    api.advance(1000);
    // Backdated before both maxima, a credit would take them past the range: refused with the exact balance.
    const refusal = await refused(
      "deposit",
      { accountId: account, amount: "100", effectiveAt: before },
      "BALANCE_OUT_OF_RANGE",
      ["input", "amount"],
    );
    expect(refusal.message).toContain(`it reaches ${max} from then on, and 100 were to be added`);
    const reduced = await ok("reduce", { accountId: account, amount: "60", effectiveAt: at(500) });
    expect(reduced.accounts).toEqual([{ id: account, balance: "40", available: "40" }]);
    const insufficient = await refused(
      "transfer",
      { sourceAccountId: account, targetAccountId: target, amount: "41", effectiveAt: at(600) },
      "INSUFFICIENT_CREDITS",
      ["input", "amount"],
    );
    expect(insufficient.message).toContain("40 USD available");
    const moved = await ok("transfer", {
      sourceAccountId: account,
      targetAccountId: target,
      amount: "40",
      effectiveAt: at(600),
    });
    expect(moved.accounts.map((one: { balance: string }) => one.balance)).toEqual(["0", "40"]);
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("a backdated credit that would take a past balance beyond the 64-bit range is refused, nothing written", async () => {
    const { account } = await newAccount({ currency: "USD" });
    const { account: source } = await newAccount({ currency: "USD" });
    const max = 9223372036854775807n;
    const start = api.now().getTime() - 60_000;
    const at = (offsetMs: number) => new Date(start + offsetMs).toISOString();
    // The source has credits in effect well before the moments below, so a backdated transfer may take them.
    await ok("deposit", { accountId: source, amount: "10", effectiveAt: at(0) });
    api.advance(1000);
    await ok("deposit", { accountId: account, amount: max.toString() });
    const depositedAt = api.now().getTime();
    api.advance(1000);
    const firstReduce = await ok("reduce", { accountId: account, amount: "5" });
    // Between the two the balance was the maximum; the balance now (max - 5) leaves room for 3 more.
    const between = new Date(depositedAt + 500).toISOString();
    const outOfRange: [string, string[]] = ["BALANCE_OUT_OF_RANGE", ["input", "amount"]];
    const deposit = { accountId: account, amount: "3", effectiveAt: between };
    const refusal = await refused("deposit", deposit, ...outOfRange);
    expect(refusal.message).toBe(
      `At ${formatPrague(new Date(between))} or later the balance would exceed the largest amount the ledger can hold (${max}): it reaches ${max} from then on, and 3 were to be added.`,
    );
    await refused("deposit", { ...deposit, dryRun: true }, ...outOfRange);
    await refused("createCreditGrant", deposit, ...outOfRange);
    const transfer = { sourceAccountId: source, targetAccountId: account, amount: "3", effectiveAt: between };
    await refused("transfer", transfer, ...outOfRange);
    await refused("transfer", { ...transfer, dryRun: true }, ...outOfRange);
    const before = await api.snapshot();
    const batch = await api.data(
      `mutation ($input: ApplyCreditBatchInput!) { applyCreditBatch(input: $input) {
        batch { idempotencyKey } itemErrors { index userError { code field message } } userErrors { code }
      } }`,
      // The first item fits; the second is the refused deposit, and the batch writes neither.
      {
        input: {
          idempotencyKey: "past-max-batch",
          items: [{ deposit: { accountId: source, amount: "1" } }, { deposit }],
        },
      },
    );
    expect(batch.applyCreditBatch.batch).toBeNull();
    expect(batch.applyCreditBatch.itemErrors).toMatchObject([
      { index: 1, userError: { code: "BALANCE_OUT_OF_RANGE", field: ["input", "items", "1", "deposit", "amount"] } },
    ]);
    expect(await api.snapshot()).toBe(before);

    // A reversal gives back at its effective time too: after a backdated deposit that fills the balance to the
    // maximum again from its time on, reversing the first reduction effective later is refused.
    api.advance(1000);
    await ok("reduce", { accountId: account, amount: "5" });
    const reducedAt = api.now().getTime();
    const filled = await ok("deposit", {
      accountId: account,
      amount: "5",
      effectiveAt: new Date(reducedAt - 500).toISOString(),
    });
    await refused(
      "reverseCreditAction",
      { actionId: firstReduce.action.id, effectiveAt: new Date(reducedAt - 400).toISOString() },
      "BALANCE_OUT_OF_RANGE",
      ["input", "actionId"],
    );
    // No past balance passes the maximum: the backdated deposit that fitted reached it exactly.
    const balances: [number, bigint][] = [
      [depositedAt + 500, max],
      [reducedAt - 1000, max - 5n],
      [reducedAt - 300, max],
      [reducedAt, max - 5n],
    ];
    for (const [moment, balance] of balances) {
      const read = await api.data(
        `query ($id: ID!, $at: DateTime!) { node(id: $id) { ... on CreditAccount { balanceAt(at: $at) } } }`,
        { id: account, at: new Date(moment).toISOString() },
      );
      expect({ moment, balance: read.node.balanceAt }).toEqual({ moment, balance: balance.toString() });
    }
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
    // verify finds a past balance beyond the range: that deposit's entry moved to where the balance was the
    // maximum already (then put back, for the verification of the whole tenant in the other tests).
    const move = (to: number) =>
      api.database.transaction((tx) =>
        tx.execute(
          sql`UPDATE credit_entry SET effective_at = ${new Date(to)} WHERE action_id = ${rawId(filled.action.id)}`,
        ),
      );
    await move(depositedAt + 500);
    const problems = await api.ledger.verify({ tenantId: api.tenantId, accountId: rawId(account) });
    expect(problems.map((problem) => [problem.kind, problem.id])).toContainEqual([
      "past-balance-range",
      rawId(account),
    ]);
    await move(reducedAt - 500);
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("Stripe external reference (invoice and line item) and effective_at distinct from created", async () => {
    const { account } = await newAccount({ currency: "USD" });
    // A backdated reduction may spend only credits in effect at its time (as Stripe requires), so the
    // credits it spends arrive before it.
    await ok("deposit", { accountId: account, amount: "500", effectiveAt: "2026-02-20T09:00:00Z" });
    await ok("deposit", { accountId: account, amount: "1000" });
    api.advance(60_000);
    const applied = await ok("reduce", {
      accountId: account,
      amount: "275",
      externalReference: "invoice:in_1Q2w3E/line:il_9Z8y7X",
      effectiveAt: "2026-02-27T09:15:00Z",
    });
    expect(applied.action.externalReference).toBe("invoice:in_1Q2w3E/line:il_9Z8y7X");
    expect(applied.action.effectiveAt).toBe("2026-02-27T10:15:00.000+01:00");
    expect(applied.action.createdAt).toBe(formatPrague(api.now()));
    expect(applied.action.effectiveAt).not.toBe(applied.action.createdAt);
    const byCreated = await historyPage(api, account, "account", {
      orderBy: { field: "CREATED_AT", direction: "DESC" },
    });
    const byEffective = await historyPage(api, account, "account", {
      orderBy: { field: "EFFECTIVE_AT", direction: "DESC" },
    });
    expect(byCreated.edges[0]!.node.id).toBe(applied.action.id);
    expect(byEffective.edges[1]!.node.id).toBe(applied.action.id);
    const sorted = await historyPage(api, account, "account", {
      orderBy: { field: "EXTERNAL_REFERENCE", direction: "DESC" },
    });
    expect(sorted.edges[0]!.node.externalReference).toBe("invoice:in_1Q2w3E/line:il_9Z8y7X");
  });

  it("Stripe entry kind and direction: each action's type and its entries, debit of the source and credit of the target", async () => {
    const { customer, account: source } = await newAccount({ currency: "USD" });
    const target = await api.openAccount(customer, { currency: "USD", name: "Savings" });
    await ok("deposit", { accountId: source, amount: "500" });
    const moved = await ok("transfer", { sourceAccountId: source, targetAccountId: target, amount: "120" });
    expect(moved.action.type).toBe("TRANSFER");
    expect(moved.action.entries).toEqual(
      expect.arrayContaining([
        {
          account: { id: source },
          direction: "DEBIT",
          amount: "120",
          balanceBefore: "500",
          balanceAfter: "380",
          sequence: 2,
        },
        {
          account: { id: target },
          direction: "CREDIT",
          amount: "120",
          balanceBefore: "0",
          balanceAfter: "120",
          sequence: 1,
        },
      ]),
    );
    expect(moved.accounts).toEqual(
      expect.arrayContaining([
        { id: source, balance: "380" },
        { id: target, balance: "120" },
      ]),
    );
    const reversed = await ok("reverseCreditAction", { actionId: moved.action.id });
    expect(reversed.action).toEqual({
      id: expect.any(String),
      type: "REVERSAL",
      amount: "120",
      reverses: { id: moved.action.id },
    });
    const page = await historyPage(api, customer, "customer", { orderBy: { field: "ID", direction: "ASC" } });
    expect(
      page.edges.map((edge) => [
        edge.node.type,
        edge.account.id === source ? "source" : "target",
        edge.direction,
        edge.amount,
      ]),
    ).toEqual([
      ["DEPOSIT", "source", "CREDIT", "500"],
      expect.anything(),
      expect.anything(),
      expect.anything(),
      expect.anything(),
    ]);
    expect(
      page.edges
        .slice(1, 3)
        .map((edge) => [edge.node.type, edge.account.id === source ? "source" : "target", edge.direction])
        .sort(),
    ).toEqual([
      ["TRANSFER", "source", "DEBIT"],
      ["TRANSFER", "target", "CREDIT"],
    ]);
    expect(
      page.edges
        .slice(3)
        .map((edge) => [edge.node.type, edge.account.id === source ? "source" : "target", edge.direction])
        .sort(),
    ).toEqual([
      ["REVERSAL", "source", "CREDIT"],
      ["REVERSAL", "target", "DEBIT"],
    ]);
    await refused("reverseCreditAction", { actionId: moved.action.id }, "ALREADY_REVERSED");
  });
});

describe("What a good ledger guarantees", () => {
  it("Idempotency keys on every write: the same key and body replay the original result; a different body is refused", async () => {
    const { customer, account } = await newAccount({ currency: "EUR" });
    const spare = await api.openAccount(customer, { currency: "EUR", name: "Spare" });
    const grantTarget = (await ok("deposit", { accountId: account, amount: "1000", idempotencyKey: "dep-1" })).action;
    const writes: [MutationName, Record<string, unknown>, Record<string, unknown>][] = [
      ["deposit", { accountId: account, amount: "300", note: "a", idempotencyKey: "idem-deposit" }, { amount: "301" }],
      ["reduce", { accountId: account, amount: "40", idempotencyKey: "idem-reduce" }, { note: "changed" }],
      [
        "transfer",
        { sourceAccountId: account, targetAccountId: spare, amount: "25", idempotencyKey: "idem-transfer" },
        { targetAccountId: account, sourceAccountId: spare },
      ],
      [
        "createCreditGrant",
        { accountId: spare, amount: "60", grant: { priority: 5 }, idempotencyKey: "idem-grant" },
        { grant: { priority: 6 } },
      ],
      ["voidCreditGrant", { grantId: grantTarget.grant.id, idempotencyKey: "idem-void" }, { note: "other" }],
    ];
    for (const [name, input, change] of writes) {
      const first = await ok(name, input);
      expect(first.replayed).toBe(false);
      const before = await api.snapshot();
      const again = await ok(name, input);
      expect({ name, replayed: again.replayed, id: again.action.id }).toEqual({
        name,
        replayed: true,
        id: first.action.id,
      });
      expect(await api.snapshot()).toBe(before);
      await refused(name, { ...input, ...change }, "IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"]);
    }
    const reduction = (await ok("reduce", { accountId: spare, amount: "1" })).action.id;
    const reversal = await ok("reverseCreditAction", { actionId: reduction, idempotencyKey: "idem-reverse" });
    const replay = await ok("reverseCreditAction", { actionId: reduction, idempotencyKey: "idem-reverse" });
    expect([replay.replayed, replay.action.id]).toEqual([true, reversal.action.id]);
    // A key used by one kind of write cannot be reused by another.
    await refused(
      "reduce",
      { accountId: account, amount: "300", note: "a", idempotencyKey: "idem-deposit" },
      "IDEMPOTENCY_KEY_REUSED",
    );
    const action = await api.data(`query ($id: ID!) { node(id: $id) { ... on CreditAction { idempotencyKey } } }`, {
      id: reversal.action.id,
    });
    expect(action.node.idempotencyKey).toBe("idem-reverse");
  });

  it("Insufficient credits: one requested credit is singular in English", async () => {
    const { account } = await newAccount({ currency: "PTS" });
    const one = await refused("reduce", { accountId: account, amount: "1" }, "INSUFFICIENT_CREDITS");
    expect(one.message).toBe("The account has 0 PTS available; 1 was requested.");
    const two = await refused("reduce", { accountId: account, amount: "2" }, "INSUFFICIENT_CREDITS");
    expect(two.message).toBe("The account has 0 PTS available; 2 were requested.");
    const czech = await refused("reduce", { accountId: account, amount: "1" }, "INSUFFICIENT_CREDITS", undefined, {
      language: "cs",
    });
    expect(czech.message).toBe("Na účtu je k dispozici 0 PTS; požadováno bylo 1.");
  });

  it("Idempotency keys belong to the API key that first used one: another key of the tenant is told so, not that the request differs", async () => {
    const { account } = await newAccount({ currency: "EUR" });
    const other = (
      await createApiKey(api.database, { tenantId: api.tenantId, name: "rotated", scopes: ["read", "write"] })
    ).secret;
    const input = { accountId: account, amount: "70", idempotencyKey: "idem-other-key" };
    const first = await ok("deposit", input);
    // The byte-identical retry from another API key of the tenant: not a replay (the calling key is the recorded
    // initiator, part of what the key was used for), and the refusal says why.
    const english = await refused("deposit", input, "IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"], {
      key: other,
    });
    expect(english.message).toMatch(
      /already used by another API key of this tenant; an idempotency key belongs to the API key that first used it/,
    );
    const czech = await refused("deposit", input, "IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"], {
      key: other,
      language: "cs",
    });
    expect(czech.message).toMatch(
      /již použil jiný klíč API této organizace; klíč idempotence patří klíči API, který jej použil jako první/,
    );
    // The first key still gets its replay, and a different request from it is told that the request differs.
    const again = await ok("deposit", input);
    expect([again.replayed, again.action.id]).toEqual([true, first.action.id]);
    const changed = await refused("deposit", { ...input, amount: "71" }, "IDEMPOTENCY_KEY_REUSED");
    expect(changed.message).toMatch(/already used for a different request/);
    // The same for a batch's key.
    const batch = `mutation ($input: ApplyCreditBatchInput!) { applyCreditBatch(input: $input) { replayed userErrors { code message } } }`;
    const batchInput = {
      idempotencyKey: "idem-other-key-batch",
      items: [{ deposit: { accountId: account, amount: "5" } }],
    };
    const applied = await api.data(batch, { input: batchInput });
    expect(applied.applyCreditBatch.userErrors).toEqual([]);
    const before = await api.snapshot();
    const refusedBatch = await api.data(batch, { input: batchInput }, { key: other });
    expect(refusedBatch.applyCreditBatch.userErrors).toEqual([
      {
        code: "IDEMPOTENCY_KEY_REUSED",
        message: expect.stringMatching(/already used by another API key of this tenant/),
      },
    ]);
    expect(await api.snapshot()).toBe(before);
  });

  it("No money created or lost: every balance is the sum of its entries, balances chain without gaps, the ledger verifies clean", async () => {
    const { customer, account: a } = await newAccount({ currency: "PTS" });
    const b = await api.openAccount(customer, { currency: "PTS", name: "Second" });
    await ok("deposit", {
      accountId: a,
      amount: "900",
      grant: { expiresAt: new Date(api.now().getTime() + 10 * 24 * 3_600_000).toISOString() },
    });
    await ok("deposit", { accountId: b, amount: "300" });
    const t = await ok("transfer", { sourceAccountId: a, targetAccountId: b, amount: "450" });
    await ok("reduce", { accountId: b, amount: "200" });
    await ok("reverseCreditAction", { actionId: t.action.id });
    await ok("transfer", { sourceAccountId: b, targetAccountId: a, amount: "100" });
    api.advance(30 * 24 * 3_600_000);
    for (const accountId of [a, b]) {
      const page = await historyPage(api, accountId, "account", {
        first: 100,
        orderBy: { field: "ID", direction: "ASC" },
      });
      let running = 0n;
      for (const edge of page.edges) {
        expect(BigInt(edge.balanceBefore)).toBe(running);
        running += edge.direction === "CREDIT" ? BigInt(edge.amount) : -BigInt(edge.amount);
        expect(BigInt(edge.balanceAfter)).toBe(running);
      }
      expect(await balanceOf(accountId)).toBe(running.toString());
    }
    // Credits leave the tenant only by reductions, expirations and voids; everything else moves them around.
    const all = await historyPage(api, customer, "customer", { first: 100 });
    const total = (types: string[], direction: string) =>
      all.edges
        .filter((edge) => types.includes(edge.node.type) && edge.direction === direction)
        .reduce((sum, edge) => sum + BigInt(edge.amount), 0n);
    expect(total(["TRANSFER"], "CREDIT")).toBe(total(["TRANSFER"], "DEBIT"));
    const balances = await api.data(`query ($id: ID!) { customer(id: $id) { balances { balance } } }`, {
      id: customer,
    });
    const expected =
      1200n -
      total(["REDUCTION", "EXPIRATION", "VOID"], "DEBIT") +
      total(["REVERSAL"], "CREDIT") -
      total(["REVERSAL"], "DEBIT");
    expect(balances.customer.balances[0].balance).toBe(expected.toString());
    expect(all.edges.some((edge) => edge.node.type === "EXPIRATION")).toBe(true);
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("No double spend: concurrent reductions never take more than the balance, concurrent retries write once", async () => {
    const { account } = await newAccount({ currency: "PTS" });
    await ok("deposit", { accountId: account, amount: "100" });
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () => mutate("reduce", { accountId: account, amount: "30" })),
    );
    const succeeded = attempts.filter((payload) => payload.userErrors.length === 0).length;
    for (const payload of attempts.filter((p) => p.userErrors.length > 0)) {
      expect(["INSUFFICIENT_CREDITS", "LEDGER_BUSY"]).toContain(payload.userErrors[0]!.code);
    }
    expect(succeeded).toBeGreaterThanOrEqual(1);
    expect(succeeded).toBeLessThanOrEqual(3);
    expect(await balanceOf(account)).toBe(String(100 - 30 * succeeded));

    const retries = await Promise.all(
      Array.from({ length: 6 }, () =>
        mutate("deposit", { accountId: account, amount: "7", idempotencyKey: "same-retry" }),
      ),
    );
    const written = retries.filter((payload) => payload.userErrors.length === 0);
    for (const payload of retries.filter((p) => p.userErrors.length > 0))
      expect(payload.userErrors[0]!.code).toBe("LEDGER_BUSY");
    expect(new Set(written.map((payload) => payload.action.id)).size).toBe(1);
    expect(written.filter((payload) => !payload.replayed).length).toBeLessThanOrEqual(1);
    expect(await balanceOf(account)).toBe(String(100 - 30 * succeeded + 7));
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("Typed errors in payloads: every userError code from bad mutation input, with code, field and message, and nothing written", async () => {
    const { customer, account } = await newAccount({ currency: "PTS" });
    const czk = await api.openAccount(customer, { currency: "CZK", name: "Koruny" });
    const store = await api.createStore("Obchod");
    const takenExternalId = "taken-external-id";
    await api.createCustomer(takenExternalId);
    await ok("deposit", { accountId: account, amount: "100" });
    const future = new Date(api.now().getTime() + 3_600_000).toISOString();
    // A deposit may be scheduled (a future effective time), up to 1826 days ahead.
    const beyondSchedule = new Date(api.now().getTime() + 1827 * 86_400_000).toISOString();
    const past = new Date(api.now().getTime() - 3_600_000).toISOString();
    const cases: [MutationName, Record<string, unknown>, string, string[] | null | undefined][] = [
      ["deposit", { accountId: "garbage", amount: "1" }, "INVALID_ID", ["input", "accountId"]],
      ["deposit", { accountId: store, amount: "1" }, "INVALID_ID", ["input", "accountId"]],
      ["reduce", { accountId: customer, amount: "1" }, "INVALID_ID", ["input", "accountId"]],
      [
        "transfer",
        { sourceAccountId: account, targetAccountId: "Q3JlZGl0QWNjb3VudDo=", amount: "1" },
        "INVALID_ID",
        ["input", "targetAccountId"],
      ],
      ["deposit", { accountId: account, amount: "1", storeId: account }, "INVALID_ID", ["input", "storeId"]],
      ["deposit", { accountId: account, amount: "1", partnerId: "%%%" }, "INVALID_ID", ["input", "partnerId"]],
      ["voidCreditGrant", { grantId: account }, "INVALID_ID", ["input", "grantId"]],
      ["reverseCreditAction", { actionId: customer }, "INVALID_ID", ["input", "actionId"]],
      ["openCreditAccount", { customerId: account, currency: "PTS", name: "X" }, "INVALID_ID", ["input", "customerId"]],
      ["deposit", { accountId: missing("CreditAccount"), amount: "1" }, "ACCOUNT_NOT_FOUND", ["input", "accountId"]],
      ["deposit", { accountId: account, amount: "0" }, "AMOUNT_NOT_POSITIVE", ["input", "amount"]],
      ["reduce", { accountId: account, amount: "101" }, "INSUFFICIENT_CREDITS", ["input", "amount"]],
      ["transfer", { sourceAccountId: account, targetAccountId: czk, amount: "1" }, "CURRENCY_MISMATCH", undefined],
      ["transfer", { sourceAccountId: account, targetAccountId: account, amount: "1" }, "SAME_ACCOUNT", undefined],
      ["deposit", { accountId: account, amount: "1", note: "x".repeat(1001) }, "NOTE_TOO_LONG", ["input", "note"]],
      [
        "deposit",
        { accountId: account, amount: "1", externalReference: "r".repeat(256) },
        "EXTERNAL_REFERENCE_TOO_LONG",
        ["input", "externalReference"],
      ],
      [
        "reduce",
        { accountId: account, amount: "1", effectiveAt: future },
        "INVALID_EFFECTIVE_AT",
        ["input", "effectiveAt"],
      ],
      [
        "deposit",
        { accountId: account, amount: "1", effectiveAt: beyondSchedule },
        "INVALID_EFFECTIVE_AT",
        ["input", "effectiveAt"],
      ],
      [
        "deposit",
        { accountId: account, amount: "1", effectiveAt: "1969-12-31T23:59:59Z" },
        "INVALID_EFFECTIVE_AT",
        ["input", "effectiveAt"],
      ],
      [
        "deposit",
        { accountId: account, amount: "1", grant: { expiresAt: past } },
        "INVALID_EXPIRES_AT",
        ["input", "grant", "expiresAt"],
      ],
      [
        "deposit",
        { accountId: account, amount: "1", idempotencyKey: "has space" },
        "INVALID_IDEMPOTENCY_KEY",
        ["input", "idempotencyKey"],
      ],
      [
        "deposit",
        { accountId: account, amount: "1", initiator: { type: "USER" } },
        "INVALID_INITIATOR",
        ["input", "initiator"],
      ],
      [
        "deposit",
        { accountId: account, amount: "1", storeId: missing("Store") },
        "STORE_NOT_FOUND",
        ["input", "storeId"],
      ],
      [
        "deposit",
        { accountId: account, amount: "1", partnerId: missing("Partner") },
        "PARTNER_NOT_FOUND",
        ["input", "partnerId"],
      ],
      ["voidCreditGrant", { grantId: missing("CreditGrant") }, "GRANT_NOT_FOUND", ["input", "grantId"]],
      ["reverseCreditAction", { actionId: missing("CreditAction") }, "ACTION_NOT_FOUND", ["input", "actionId"]],
      [
        "openCreditAccount",
        { customerId: missing("Customer"), currency: "PTS", name: "X" },
        "CUSTOMER_NOT_FOUND",
        ["input", "customerId"],
      ],
      [
        "openCreditAccount",
        { customerId: customer, currency: "p", name: "X" },
        "INVALID_CURRENCY",
        ["input", "currency"],
      ],
      ["openCreditAccount", { customerId: customer, currency: "PTS", name: "  " }, "INVALID_NAME", ["input", "name"]],
      [
        "openCreditAccount",
        { customerId: customer, currency: "PTS", name: "X", overdraftLimit: "-1" },
        "INVALID_OVERDRAFT_LIMIT",
        ["input", "overdraftLimit"],
      ],
      ["closeCreditAccount", { accountId: account }, "ACCOUNT_NOT_EMPTY", ["input", "accountId"]],
      ["createCustomer", { externalId: takenExternalId }, "EXTERNAL_ID_TAKEN", ["input", "externalId"]],
      ["createCustomer", { externalId: "new-one", email: "not-an-email" }, "INVALID_EMAIL", ["input", "email"]],
      ["createCustomer", { externalId: " " }, "INVALID_EXTERNAL_ID", ["input", "externalId"]],
    ];
    for (const [name, input, code, field] of cases) await refused(name, input, code, field);
    // A closed account takes nothing more.
    const empty = await api.openAccount(customer, { currency: "PTS", name: "Empty" });
    await ok("closeCreditAccount", { accountId: empty });
    await refused("deposit", { accountId: empty, amount: "1" }, "ACCOUNT_CLOSED", ["input", "accountId"]);
    await refused("closeCreditAccount", { accountId: empty }, "ACCOUNT_ALREADY_CLOSED", ["input", "accountId"]);
    // The field path of a grant option names the grant, as it does for grant.expiresAt above.
    await refused(
      "deposit",
      { accountId: account, amount: "1", grant: { priority: 101 } },
      "INVALID_PRIORITY",
      undefined,
    );
    // The messages are in the negotiated language.
    const czech = await refused(
      "transfer",
      { sourceAccountId: account, targetAccountId: account, amount: "1" },
      "SAME_ACCOUNT",
      undefined,
      { language: "cs" },
    );
    expect(czech.message).toBe("Převod vyžaduje dva různé účty.");
  });

  it("Typed errors in payloads: the field of a refused grant option is its path in the input (input.grant.priority)", async () => {
    const { account } = await newAccount();
    await refused("deposit", { accountId: account, amount: "1", grant: { priority: 101 } }, "INVALID_PRIORITY", [
      "input",
      "grant",
      "priority",
    ]);
    await refused(
      "createCreditGrant",
      { accountId: account, amount: "1", grant: { priority: -1 } },
      "INVALID_PRIORITY",
      ["input", "grant", "priority"],
    );
  });

  it("Top-level errors for malformed scalars: a fractional amount is INVALID_AMOUNT, a bad date INVALID_DATE_TIME, nothing written", async () => {
    const { account } = await newAccount();
    await ok("deposit", { accountId: account, amount: "10" });
    const before = await api.snapshot();
    const cases: [string, Record<string, unknown>, string][] = [
      [
        `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code } } }`,
        { input: { accountId: account, amount: 0.5 } },
        "INVALID_AMOUNT",
      ],
      [
        `mutation ($input: ReduceInput!) { reduce(input: $input) { userErrors { code } } }`,
        { input: { accountId: account, amount: "3.00" } },
        "INVALID_AMOUNT",
      ],
      [
        `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code } } }`,
        { input: { accountId: account, amount: "1", effectiveAt: "2026-02-30 10:00:00" } },
        "INVALID_DATE_TIME",
      ],
      [
        `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code } } }`,
        { input: { accountId: account, amount: "1", effectiveAt: "yesterday" } },
        "INVALID_DATE_TIME",
      ],
      [
        `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code } } }`,
        { input: { accountId: account, amount: "1", grant: { expiresAt: "2026-13-01" } } },
        "INVALID_DATE_TIME",
      ],
      [
        `query ($id: ID!) { node(id: $id) { ... on CreditAccount { balanceAt(at: "2026-02-29") } } }`,
        { id: account },
        "INVALID_DATE_TIME",
      ],
      [
        `query ($id: ID!) { node(id: $id) { ... on CreditAccount { balanceAt(at: "2026-03-01T24:00:00Z") } } }`,
        { id: account },
        "INVALID_DATE_TIME",
      ],
    ];
    for (const [query, variables, code] of cases) {
      const body = await api.graphql(query, variables);
      expect({ query, codes: body.errors?.map((error) => error.extensions?.code) }).toEqual({ query, codes: [code] });
      expect(body.errors![0]!.message).toMatch(code === "INVALID_AMOUNT" ? /whole number/ : /date/i);
    }
    expect(await api.snapshot()).toBe(before);
  });

  it("Every major type is a Node refetchable through node(id:) and nodes(ids:)", async () => {
    const { customer, account } = await newAccount({ currency: "PTS", name: "Refetch" });
    const store = await api.createStore("Refetch store", { externalId: "rs-1" });
    const partner = await api.createPartner("Refetch partner", { externalId: "rp-1" });
    const deposited = await ok("deposit", { accountId: account, amount: "42", storeId: store, partnerId: partner });
    const ids: Record<string, string> = {
      Customer: customer,
      CreditAccount: account,
      CreditAction: deposited.action.id,
      CreditGrant: deposited.action.grant.id,
      Store: store,
      Partner: partner,
    };
    const fields = `__typename id
      ... on Customer { customerExternalId: externalId } ... on CreditAccount { name balance } ... on CreditAction { amount type }
      ... on CreditGrant { originalAmount } ... on Store { name externalId } ... on Partner { name externalId }`;
    const expected: Record<string, Record<string, unknown>> = {
      Customer: { customerExternalId: rawCustomerExternalId() },
      CreditAccount: { name: "Refetch", balance: "42" },
      CreditAction: { amount: "42", type: "DEPOSIT" },
      CreditGrant: { originalAmount: "42" },
      Store: { name: "Refetch store", externalId: "rs-1" },
      Partner: { name: "Refetch partner", externalId: "rp-1" },
    };
    for (const [type, id] of Object.entries(ids)) {
      const one = await api.data(`query ($id: ID!) { node(id: $id) { ${fields} } }`, { id });
      expect(one.node).toEqual({ __typename: type, id, ...expected[type] });
      // IDs are opaque but name their type, so one type's ID never fetches another type's object.
      expect(rawId(id).length).toBeGreaterThan(0);
    }
    const list = await api.data(`query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, {
      ids: [
        ids.Partner,
        missing("Customer"),
        ids.CreditGrant,
        ids.Customer,
        ids.CreditAction,
        ids.Store,
        ids.CreditAccount,
      ],
    });
    expect(list.nodes).toEqual([
      { __typename: "Partner", id: ids.Partner },
      null,
      { __typename: "CreditGrant", id: ids.CreditGrant },
      { __typename: "Customer", id: ids.Customer },
      { __typename: "CreditAction", id: ids.CreditAction },
      { __typename: "Store", id: ids.Store },
      { __typename: "CreditAccount", id: ids.CreditAccount },
    ]);
    // A garbage ID names nothing: null (or an error), never another object.
    const garbage = await api.graphql(`{ node(id: "garbage") { id } }`);
    expect(garbage.data?.node ?? null).toBeNull();
  });

  it("Balance at a past time, available vs total, totals per currency per customer", async () => {
    const { customer, account } = await newAccount({ currency: "PTS", overdraftLimit: "500" });
    const czk = await api.openAccount(customer, { currency: "CZK", name: "Koruny" });
    const second = await api.openAccount(customer, { currency: "PTS", name: "Druhý" });
    await ok("deposit", { accountId: account, amount: "1000", effectiveAt: "2026-02-10 10:00:00" });
    await ok("reduce", { accountId: account, amount: "300", effectiveAt: "2026-02-20 10:00:00" });
    await ok("reduce", { accountId: account, amount: "1000" });
    await ok("deposit", { accountId: czk, amount: "12345" });
    await ok("deposit", { accountId: second, amount: "40" });
    const at = await api.data(
      `query ($id: ID!) { node(id: $id) { ... on CreditAccount {
        balance available overdraftLimit
        before: balanceAt(at: "2026-01-01")
        afterDeposit: balanceAt(at: "2026-02-15 00:00:00")
        justBefore: balanceAt(at: "2026-02-20 09:59:59")
        exactly: balanceAt(at: "2026-02-20T09:00:00Z")
        now: balanceAt(at: "${api.now().toISOString()}")
      } } }`,
      { id: account },
    );
    expect(at.node).toEqual({
      balance: "-300",
      available: "200",
      overdraftLimit: "500",
      before: "0",
      afterDeposit: "1000",
      justBefore: "1000",
      exactly: "700",
      now: "-300",
    });
    await refused("reduce", { accountId: account, amount: "201" }, "INSUFFICIENT_CREDITS");
    const totals = await api.data(
      `query ($id: ID!) { customer(id: $id) { balances { currency balance available accountCount } } }`,
      { id: customer },
    );
    expect(totals.customer.balances).toEqual([
      { currency: "CZK", balance: "12345", available: "12345", accountCount: 1 },
      { currency: "PTS", balance: "-260", available: "240", accountCount: 2 },
    ]);
  });
});

/** The instant as Prague's wall clock with its offset, computed here without the gateway's formatter. */
function formatPrague(date: Date): string {
  const offsetMinutes = isPragueSummer(date) ? 120 : 60;
  const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().replace("Z", "");
  return `${local}+0${offsetMinutes / 60}:00`;
}

/** EU summer time: from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October. */
function isPragueSummer(date: Date): boolean {
  const year = date.getUTCFullYear();
  const lastSunday = (month: number) => {
    const last = new Date(Date.UTC(year, month + 1, 0, 1));
    return new Date(last.getTime() - last.getUTCDay() * 86_400_000);
  };
  return date >= lastSunday(2) && date < lastSunday(9);
}

function rawCustomerExternalId(): string {
  return `money-${customers}`;
}
