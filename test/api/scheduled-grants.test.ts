// Scheduled grants (Stripe's credit grant with a later effective_at), through the real server on both engines:
// a deposit effective in the future is recorded at once as a SCHEDULED grant, its credits in the account's
// `scheduled` and neither in `balance` nor spendable; when its time has come, the first read or write of the
// account records its entry at that time (never stale on read), and `balanceAt` shows it from then. Before
// that it can be voided, and then it never takes effect. The clock is the ledger's own, moved by the test.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "../../src/db/sql.ts";
import { createApiFixture, type ApiFixture, type UserErrorBody } from "../support/api.ts";

let api: ApiFixture;
let customers = 0;
const hour = 3_600_000;
const day = 24 * hour;

beforeAll(async () => {
  api = await createApiFixture();
});

afterAll(async () => {
  await api?.drop();
});

/** The database id inside a global ID (`Type:id`, base64). */
const databaseId = (globalId: string) => Buffer.from(globalId, "base64").toString().split(":")[1] as string;
/** An instant `ms` from the ledger's now, as ISO-8601 UTC. */
const fromNow = (ms: number) => new Date(api.now().getTime() + ms).toISOString();
/** The instant as the API answers it, in the tenant's time zone (Prague, +01:00 in March). */
const tenantTime = (iso: string) => `${new Date(new Date(iso).getTime() + hour).toISOString().slice(0, 23)}+01:00`;

const actionPayload = `
  replayed
  action { id type amount effectiveAt entries { direction amount balanceBefore balanceAfter sequence }
    grant { id state originalAmount remainingAmount effectiveAt expiresAt } }
  accounts { id balance available scheduled sequence }
  userErrors { code field message }`;

const mutations = {
  deposit: `mutation ($input: DepositInput!) { deposit(input: $input) { ${actionPayload} } }`,
  createCreditGrant: `mutation ($input: CreateCreditGrantInput!) { createCreditGrant(input: $input) { ${actionPayload} } }`,
  reduce: `mutation ($input: ReduceInput!) { reduce(input: $input) { ${actionPayload} } }`,
  transfer: `mutation ($input: TransferInput!) { transfer(input: $input) { ${actionPayload} } }`,
  voidCreditGrant: `mutation ($input: VoidCreditGrantInput!) { voidCreditGrant(input: $input) { ${actionPayload} } }`,
  reverseCreditAction: `mutation ($input: ReverseCreditActionInput!) { reverseCreditAction(input: $input) { ${actionPayload} } }`,
  changeCreditGrantExpiry: `mutation ($input: ChangeCreditGrantExpiryInput!) { changeCreditGrantExpiry(input: $input) { ${actionPayload} } }`,
};

type MutationName = keyof typeof mutations;

async function mutate(name: MutationName, input: Record<string, unknown>, options: { language?: string } = {}) {
  return (await api.data(mutations[name], { input }, options))[name];
}

async function ok(name: MutationName, input: Record<string, unknown>) {
  const payload = await mutate(name, input);
  expect(payload.userErrors).toEqual([]);
  return payload;
}

/** Asserts the refusal (code, field, a message) and that it wrote nothing. */
async function refused(
  name: MutationName,
  input: Record<string, unknown>,
  code: string,
  field: string[] | null,
  options: { language?: string } = {},
): Promise<UserErrorBody> {
  const before = await api.snapshot();
  const payload = await mutate(name, input, options);
  expect(payload.userErrors.map((error: UserErrorBody) => [error.code, error.field])).toEqual([[code, field]]);
  expect(payload.userErrors[0].message.length).toBeGreaterThan(10);
  expect(payload.action).toBeNull();
  expect(await api.snapshot()).toBe(before);
  return payload.userErrors[0];
}

async function account(amount: string, options: { overdraftLimit?: string } = {}) {
  const customer = await api.createCustomer(`scheduled-${++customers}`);
  const id = await api.openAccount(customer, { currency: "CZK", ...options });
  if (amount !== "0") await ok("deposit", { accountId: id, amount });
  return id;
}

const accountQuery = `query ($id: ID!, $later: DateTime!, $before: DateTime!, $at: DateTime!) { node(id: $id) { ... on CreditAccount {
  balance available scheduled sequence
  later: balanceAt(at: $later) before: balanceAt(at: $before) at: balanceAt(at: $at)
  scheduledGrants: grants(state: SCHEDULED) { edges { node { id originalAmount remainingAmount } } }
  activeGrants: grants(state: ACTIVE) { edges { node { id remainingAmount } } }
  voidedGrants: grants(state: VOIDED) { edges { node { id voidedAt } } }
  history(first: 20) { edges { node { type amount effectiveAt } balanceBefore balanceAfter } }
} } }`;

/** The account now, with its balance at three moments. */
async function read(id: string, moments: { later: string; before: string; at: string }) {
  return (await api.data(accountQuery, { id, ...moments })).node;
}

async function verified() {
  expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
}

describe("a scheduled grant", () => {
  it("is recorded now without touching the balance, and takes effect at its time, in history and balance", async () => {
    const id = await account("100");
    const effectiveAt = fromNow(day);
    const expiresAt = fromNow(40 * day);
    const input = {
      accountId: id,
      amount: "500",
      effectiveAt,
      idempotencyKey: "next-month",
      grant: { name: "April credits", expiresAt },
    };
    const scheduled = await ok("deposit", input);
    expect(scheduled).toMatchObject({
      replayed: false,
      action: {
        type: "DEPOSIT",
        amount: "500",
        effectiveAt: tenantTime(effectiveAt),
        entries: [],
        grant: {
          state: "SCHEDULED",
          originalAmount: "500",
          remainingAmount: "0",
          effectiveAt: tenantTime(effectiveAt),
        },
      },
      accounts: [{ id, balance: "100", available: "100", scheduled: "500", sequence: 1 }],
    });
    const grantId = scheduled.action.grant.id;

    // Before its time: not in the balance, not spendable, not in history; listed as scheduled; a later moment's
    // balance projects it (and its own expiry).
    const moments = { later: fromNow(2 * day), before: fromNow(day - 1), at: effectiveAt };
    const before = await read(id, { ...moments, later: fromNow(2 * day) });
    expect(before).toMatchObject({ balance: "100", available: "100", scheduled: "500", sequence: 1 });
    expect([before.later, before.before, before.at]).toEqual(["600", "100", "600"]);
    expect((await read(id, { ...moments, later: fromNow(41 * day) })).later).toBe("100");
    expect(before.scheduledGrants.edges).toEqual([
      { node: { id: grantId, originalAmount: "500", remainingAmount: "0" } },
    ]);
    expect(before.history.edges.map((edge: { node: { type: string } }) => edge.node.type)).toEqual(["DEPOSIT"]);
    await refused("reduce", { accountId: id, amount: "101" }, "INSUFFICIENT_CREDITS", ["input", "amount"]);

    // A retry with the key answers the creation.
    const replay = await ok("deposit", input);
    expect(replay).toMatchObject({ replayed: true, action: { id: scheduled.action.id, entries: [] } });
    expect(replay.action.grant).toMatchObject({ id: grantId, state: "SCHEDULED" });

    // At its time: the first read records the entry, effective then, after the entries before it.
    api.advance(day + hour);
    const after = await read(id, moments);
    expect(after).toMatchObject({ balance: "600", available: "600", scheduled: "0", sequence: 2 });
    expect([after.before, after.at]).toEqual(["100", "600"]);
    expect(after.scheduledGrants.edges).toEqual([]);
    expect(after.activeGrants.edges).toContainEqual({ node: { id: grantId, remainingAmount: "500" } });
    expect(after.history.edges[0]).toEqual({
      node: { type: "DEPOSIT", amount: "500", effectiveAt: tenantTime(effectiveAt) },
      balanceBefore: "100",
      balanceAfter: "600",
    });
    await ok("reduce", { accountId: id, amount: "550" });
    // The retry still answers the same deposit, now with its entry.
    const late = await ok("deposit", input);
    expect(late).toMatchObject({ replayed: true, action: { id: scheduled.action.id } });
    expect(late.action.entries).toMatchObject([{ direction: "CREDIT", amount: "500", sequence: 2 }]);
    await verified();
  });

  it("takes effect in the write that comes first after its time, and repays an overdraft first", async () => {
    const id = await account("0", { overdraftLimit: "200" });
    await ok("reduce", { accountId: id, amount: "50" });
    const effectiveAt = fromNow(hour);
    const scheduled = await ok("createCreditGrant", { accountId: id, amount: "120", effectiveAt });
    expect(scheduled.accounts).toMatchObject([{ balance: "-50", scheduled: "120", sequence: 1 }]);
    // Projected: the overdraft repaid, the rest in the grant.
    expect((await read(id, { later: fromNow(2 * hour), before: fromNow(0), at: effectiveAt })).later).toBe("70");
    api.advance(2 * hour);
    // The reduction is the first thing to touch the account since: it records the deposit before itself.
    const reduced = await ok("reduce", { accountId: id, amount: "70" });
    expect(reduced.action.entries).toEqual([
      { direction: "DEBIT", amount: "70", balanceBefore: "70", balanceAfter: "0", sequence: 3 },
    ]);
    const state = await read(id, { later: fromNow(hour), before: fromNow(-hour - 1), at: effectiveAt });
    expect(
      state.history.edges.map((edge: { node: { type: string }; balanceAfter: string }) => [
        edge.node.type,
        edge.balanceAfter,
      ]),
    ).toEqual([
      ["REDUCTION", "0"],
      ["DEPOSIT", "70"],
      ["REDUCTION", "-50"],
    ]);
    await verified();
  });

  it("can be voided before it takes effect, and then never does", async () => {
    const id = await account("40");
    const effectiveAt = fromNow(day);
    const scheduled = await ok("deposit", { accountId: id, amount: "300", effectiveAt, idempotencyKey: "to-cancel" });
    const grantId = scheduled.action.grant.id;
    await refused("reverseCreditAction", { actionId: scheduled.action.id }, "NOT_REVERSIBLE", ["input", "actionId"]);
    await refused("changeCreditGrantExpiry", { grantId, expiresAt: fromNow(9 * day) }, "GRANT_NOT_ACTIVE", [
      "input",
      "grantId",
    ]);
    const voided = await ok("voidCreditGrant", { grantId, idempotencyKey: "cancel-1" });
    expect(voided).toMatchObject({
      action: { type: "VOID", amount: "300", entries: [], grant: { id: grantId, state: "VOIDED" } },
      accounts: [{ id, balance: "40", scheduled: "0", sequence: 1 }],
    });
    expect((await ok("voidCreditGrant", { grantId, idempotencyKey: "cancel-1" })).replayed).toBe(true);
    await refused("voidCreditGrant", { grantId }, "GRANT_NOT_ACTIVE", ["input", "grantId"]);
    api.advance(2 * day);
    const after = await read(id, { later: fromNow(day), before: fromNow(-day - 1), at: effectiveAt });
    expect(after).toMatchObject({ balance: "40", scheduled: "0", sequence: 1, later: "40", at: "40" });
    expect(after.voidedGrants.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([grantId]);
    expect(after.history.edges.map((edge: { node: { type: string } }) => edge.node.type)).toEqual(["DEPOSIT"]);
    // The deposit that never took effect cannot be reversed either.
    await refused("reverseCreditAction", { actionId: scheduled.action.id }, "NOT_REVERSIBLE", ["input", "actionId"]);
    await verified();
  });

  it("once in effect is voided like any grant, through a VOID entry", async () => {
    const id = await account("0");
    const scheduled = await ok("deposit", { accountId: id, amount: "80", effectiveAt: fromNow(hour) });
    api.advance(hour);
    const voided = await ok("voidCreditGrant", { grantId: scheduled.action.grant.id });
    expect(voided.action.entries).toEqual([
      { direction: "DEBIT", amount: "80", balanceBefore: "80", balanceAfter: "0", sequence: 2 },
    ]);
    await verified();
  });
});

describe("races", () => {
  it("of voids and reads before its time: exactly one void cancels it, and it never takes effect", async () => {
    const id = await account("10");
    const effectiveAt = fromNow(hour);
    const scheduled = await ok("deposit", { accountId: id, amount: "90", effectiveAt });
    const grantId = scheduled.action.grant.id;
    const moments = { later: fromNow(2 * hour), before: fromNow(0), at: effectiveAt };
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => mutate("voidCreditGrant", { grantId })),
      ...Array.from({ length: 3 }, () => read(id, moments)),
    ]);
    const codes = results.slice(0, 4).map((payload) => payload.userErrors[0]?.code ?? "OK");
    expect(codes.sort()).toEqual(["GRANT_NOT_ACTIVE", "GRANT_NOT_ACTIVE", "GRANT_NOT_ACTIVE", "OK"]);
    api.advance(2 * hour);
    await Promise.all([api.ledger.settleDue(), read(id, moments), read(id, moments)]);
    expect(await read(id, moments)).toMatchObject({ balance: "10", scheduled: "0", sequence: 1 });
    await verified();
  });

  it("of a void, reads, the background job and a write at its time: it takes effect once, and is voided once", async () => {
    const id = await account("10");
    const effectiveAt = fromNow(hour);
    const scheduled = await ok("deposit", { accountId: id, amount: "90", effectiveAt });
    const grantId = scheduled.action.grant.id;
    api.advance(hour);
    const moments = { later: fromNow(hour), before: fromNow(-1), at: effectiveAt };
    const [voided, , , , deposited] = await Promise.all([
      mutate("voidCreditGrant", { grantId }),
      read(id, moments),
      api.ledger.settleDue(),
      read(id, moments),
      mutate("deposit", { accountId: id, amount: "5" }),
    ]);
    expect([voided.userErrors, deposited.userErrors]).toEqual([[], []]);
    // The void found the grant in effect, whoever recorded that: it takes the 90 back out through an entry.
    expect(voided.action.entries).toMatchObject([{ direction: "DEBIT", amount: "90" }]);
    const after = await read(id, moments);
    expect(after).toMatchObject({ balance: "15", scheduled: "0", sequence: 4 });
    const types = after.history.edges.map((edge: { node: { type: string } }) => edge.node.type).sort();
    expect(types).toEqual(["DEPOSIT", "DEPOSIT", "DEPOSIT", "VOID"]);
    await verified();
  });

  it("of scheduled deposits on one account: each is recorded once, and `scheduled` adds them all up", async () => {
    const id = await account("0");
    const effectiveAt = fromNow(hour);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        mutate("deposit", {
          accountId: id,
          amount: String(index + 1),
          effectiveAt,
          idempotencyKey: `many-${index % 3}`,
        }),
      ),
    );
    // Three keys, each sent twice with different amounts: three deposits, and three refusals of the reused key
    // (a concurrent duplicate waits for the first to commit, then finds its key taken).
    expect(results.filter((payload) => payload.userErrors.length > 0).map((p) => p.userErrors[0].code)).toEqual(
      results.filter((payload) => payload.userErrors.length > 0).map(() => "IDEMPOTENCY_KEY_REUSED"),
    );
    const written = new Set(results.filter((payload) => payload.action).map((payload) => payload.action.id));
    expect(written.size).toBe(3);
    const before = await read(id, { later: fromNow(2 * hour), before: fromNow(0), at: effectiveAt });
    const total = BigInt(before.scheduled);
    expect(before.scheduledGrants.edges.length).toBe(3);
    expect(before.later).toBe(String(total));
    api.advance(hour);
    expect(await read(id, { later: fromNow(hour), before: fromNow(-1), at: effectiveAt })).toMatchObject({
      balance: String(total),
      scheduled: "0",
      sequence: 3,
    });
    await verified();
  });
});

describe("refusals", () => {
  it("refuses a time too far ahead, an expiry not after the effective time, and the future on other writes", async () => {
    const id = await account("100");
    const other = await account("0");
    const farthest = fromNow(1826 * day);
    const tooFar = fromNow(1826 * day + 1000);
    const message = await refused(
      "deposit",
      { accountId: id, amount: "1", effectiveAt: tooFar },
      "INVALID_EFFECTIVE_AT",
      ["input", "effectiveAt"],
    );
    expect(message.message).toMatch(/1826 days/);
    const czech = await refused(
      "createCreditGrant",
      { accountId: id, amount: "1", effectiveAt: tooFar },
      "INVALID_EFFECTIVE_AT",
      ["input", "effectiveAt"],
      { language: "cs" },
    );
    expect(czech.message).toMatch(/1826 dní/);
    await refused(
      "deposit",
      { accountId: id, amount: "1", effectiveAt: fromNow(day), grant: { expiresAt: fromNow(day) } },
      "INVALID_EXPIRES_AT",
      ["input", "grant", "expiresAt"],
    );
    await refused(
      "deposit",
      { accountId: id, amount: "1", effectiveAt: fromNow(2 * day), grant: { expiresAt: fromNow(day) } },
      "INVALID_EXPIRES_AT",
      ["input", "grant", "expiresAt"],
    );
    await refused("reduce", { accountId: id, amount: "1", effectiveAt: fromNow(hour) }, "INVALID_EFFECTIVE_AT", [
      "input",
      "effectiveAt",
    ]);
    await refused(
      "transfer",
      { sourceAccountId: id, targetAccountId: other, amount: "1", effectiveAt: fromNow(hour) },
      "INVALID_EFFECTIVE_AT",
      ["input", "effectiveAt"],
    );
    // The bound itself is allowed.
    expect((await ok("deposit", { accountId: id, amount: "1", effectiveAt: farthest })).action.grant.state).toBe(
      "SCHEDULED",
    );
    await verified();
  });

  it("refuses a key reused for another time, and a deposit that would pass the 64-bit range with what is scheduled", async () => {
    const id = await account("0");
    await ok("deposit", { accountId: id, amount: "5", effectiveAt: fromNow(day), idempotencyKey: "once" });
    await refused(
      "deposit",
      { accountId: id, amount: "5", effectiveAt: fromNow(2 * day), idempotencyKey: "once" },
      "IDEMPOTENCY_KEY_REUSED",
      ["input", "idempotencyKey"],
    );
    await ok("deposit", { accountId: id, amount: "9223372036854775800", effectiveAt: fromNow(day) });
    await refused("deposit", { accountId: id, amount: "10" }, "BALANCE_OUT_OF_RANGE", ["input", "amount"]);
    await verified();
  });
});

describe("verify", () => {
  it("reports scheduled credits in a balance before their time, and a wrong scheduled amount or next lapse", async () => {
    const id = await account("10");
    const scheduled = await ok("deposit", { accountId: id, amount: "60", effectiveAt: fromNow(day) });
    const accountId = databaseId(id);
    const grantId = databaseId(scheduled.action.grant.id);
    const run = (statement: ReturnType<typeof sql>) => api.database.transaction((tx) => tx.execute(statement));
    await run(sql`UPDATE credit_account SET scheduled = 59, next_lapse_at = NULL WHERE id = ${accountId}`);
    await run(sql`UPDATE credit_grant SET scheduled_amount = 30 WHERE id = ${grantId}`);
    // The first deposit's entry made effective after it was recorded: credits in the balance before their time.
    const later = new Date(api.now().getTime() + 2 * day);
    await run(sql`UPDATE credit_entry SET effective_at = ${later} WHERE account_id = ${accountId}`);
    const problems = await api.ledger.verify({ tenantId: api.tenantId, accountId });
    expect(problems.map((problem) => [problem.kind, problem.id])).toEqual(
      expect.arrayContaining([
        ["entry-before-effect", accountId],
        ["scheduled", accountId],
        ["next-lapse", accountId],
        ["grant-scheduled", grantId],
      ]),
    );
    // Put it right again, for the verification of the whole tenant in the other tests.
    await run(sql`UPDATE credit_entry SET effective_at = created_at WHERE account_id = ${accountId}`);
    await run(sql`UPDATE credit_grant SET scheduled_amount = 60 WHERE id = ${grantId}`);
    await run(
      sql`UPDATE credit_account SET scheduled = 60, next_lapse_at = ${new Date(api.now().getTime() + day)} WHERE id = ${accountId}`,
    );
    await verified();
  });
});

describe("closing", () => {
  it("refuses to close an account with a scheduled grant, and closes it once the grant is voided", async () => {
    const id = await account("0");
    const scheduled = await ok("deposit", { accountId: id, amount: "70", effectiveAt: fromNow(day) });
    const close = `mutation ($input: CloseCreditAccountInput!) { closeCreditAccount(input: $input) { account { status } userErrors { code field message } } }`;
    const before = await api.snapshot();
    const refusal = (await api.data(close, { input: { accountId: id } })).closeCreditAccount;
    expect(refusal.account).toBeNull();
    expect(refusal.userErrors).toMatchObject([{ code: "ACCOUNT_NOT_EMPTY", field: ["input", "accountId"] }]);
    expect(refusal.userErrors[0].message).toMatch(/Scheduled grants will bring 70/);
    expect(await api.snapshot()).toBe(before);
    await ok("voidCreditGrant", { grantId: scheduled.action.grant.id });
    expect((await api.data(close, { input: { accountId: id } })).closeCreditAccount).toEqual({
      account: { status: "CLOSED" },
      userErrors: [],
    });
    await verified();
  });
});

describe("conditions and dry runs", () => {
  it("answers a scheduled deposit's dry run without writing, and checks `expected` like any deposit", async () => {
    const id = await account("100");
    const before = await api.snapshot();
    const dry = (
      await api.data(
        `mutation ($input: DepositInput!) { deposit(input: $input) { action { id } preview { action { type amount effectiveAt entries { sequence } allocations { amount } } } userErrors { code } } }`,
        { input: { accountId: id, amount: "25", effectiveAt: fromNow(day), dryRun: true } },
      )
    ).deposit;
    expect(dry).toMatchObject({
      action: null,
      preview: { action: { type: "DEPOSIT", amount: "25", entries: [], allocations: [] } },
      userErrors: [],
    });
    expect(await api.snapshot()).toBe(before);
    await refused(
      "deposit",
      { accountId: id, amount: "25", effectiveAt: fromNow(day), expected: { sequence: 0 } },
      "ACCOUNT_CHANGED",
      ["input", "expected", "sequence"],
    );
    const written = await ok("deposit", {
      accountId: id,
      amount: "25",
      effectiveAt: fromNow(day),
      expected: { balance: "100", sequence: 1 },
    });
    // Nothing entered the balance, so the sequence stays: a scheduled deposit writes no entry.
    expect(written.accounts).toMatchObject([{ balance: "100", sequence: 1, scheduled: "25" }]);
    await verified();
  });
});
