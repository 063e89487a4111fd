// Expiry changes (Orb's expiration_change): the expiry of a grant that still holds credits can be extended or
// shortened through an EXPIRATION_CHANGE entry in the history; a shortened expiry already passed expires the
// grant at once; the account's next_lapse_at follows (verify checks it). Through the real server, both engines.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let api: ApiFixture;
let customer: string;

beforeAll(async () => {
  api = await createApiFixture();
  customer = await api.createCustomer("CUST-EXP");
});

afterAll(async () => {
  await api?.drop();
});

const change = `mutation ($input: ChangeCreditGrantExpiryInput!) { changeCreditGrantExpiry(input: $input) {
  replayed
  action { id type typeName amount previousExpiresAt newExpiresAt grant { id expiresAt state remainingAmount }
    entries { direction amount balanceBefore balanceAfter sequence } }
  accounts { id balance sequence }
  userErrors { code field message } } }`;

const hours = (n: number) => new Date(api.now().getTime() + n * 3_600_000).toISOString();
/** The instant as the API answers it, in the tenant's time zone (Prague, +01:00 in March). */
const tenantTime = (iso: string) => `${new Date(new Date(iso).getTime() + 3_600_000).toISOString().slice(0, 23)}+01:00`;

async function grantIn(account: string, amount: string, expiresAt: string | null): Promise<string> {
  const data = await api.data(
    `mutation ($input: DepositInput!) { deposit(input: $input) { action { grant { id } } userErrors { code } } }`,
    { input: { accountId: account, amount, grant: { expiresAt } } },
  );
  expect(data.deposit.userErrors).toEqual([]);
  return data.deposit.action.grant.id;
}

async function changeExpiry(input: Record<string, unknown>) {
  return (await api.data(change, { input })).changeCreditGrantExpiry;
}

async function accountState(account: string) {
  return (
    await api.data(
      `query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance sequence
        history(first: 10) { edges { node { type amount previousExpiresAt newExpiresAt } amount balanceBefore balanceAfter } } } } }`,
      { id: account },
    )
  ).node;
}

async function refused(input: Record<string, unknown>, code: string, field: string[]) {
  const before = await api.snapshot();
  const result = await changeExpiry(input);
  expect(result.action).toBeNull();
  expect(result.userErrors).toMatchObject([{ code, field }]);
  expect(await api.snapshot()).toBe(before);
  return result.userErrors[0].message as string;
}

describe("changeCreditGrantExpiry", () => {
  it("extends an expiry through an entry that moves nothing, and the grant lives on past its old expiry", async () => {
    const account = await api.openAccount(customer, { name: "Extended" });
    const grantId = await grantIn(account, "40", hours(1));
    const later = hours(48);
    const result = await changeExpiry({ grantId, expiresAt: later, note: "Goodwill" });
    expect(result.userErrors).toEqual([]);
    expect(result.action).toMatchObject({
      type: "EXPIRATION_CHANGE",
      typeName: "Expiry change",
      amount: "40",
      previousExpiresAt: tenantTime(hours(1)),
      newExpiresAt: tenantTime(later),
      grant: { id: grantId, state: "ACTIVE", remainingAmount: "40" },
      entries: [{ direction: "CREDIT", amount: "0", balanceBefore: "40", balanceAfter: "40", sequence: 2 }],
    });
    expect(result.accounts).toEqual([{ id: account, balance: "40", sequence: 2 }]);
    // The grant's own history (Stripe's credit_grant filter) shows the change.
    const ofGrant = await api.data(
      `query ($id: ID!, $grant: ID!) { node(id: $id) { ... on CreditAccount { history(filter: { grant: $grant }) { edges { node { type } } } } } }`,
      { id: account, grant: grantId },
    );
    expect(ofGrant.node.history.edges.map((edge: { node: { type: string } }) => edge.node.type)).toEqual([
      "EXPIRATION_CHANGE",
      "DEPOSIT",
    ]);
    api.advance(2 * 3_600_000);
    const state = await accountState(account);
    expect(state.balance).toBe("40");
    expect(state.history.edges[0]).toMatchObject({
      node: { type: "EXPIRATION_CHANGE", amount: "40" },
      amount: "0",
      balanceBefore: "40",
      balanceAfter: "40",
    });
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
    // The new expiry holds: two days on, the credits expire.
    api.advance(48 * 3_600_000);
    expect((await accountState(account)).balance).toBe("0");
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("shortens an expiry, and a grant that never expired can be given an expiry and have it removed again", async () => {
    const account = await api.openAccount(customer, { name: "Shortened" });
    const grantId = await grantIn(account, "25", null);
    const soon = hours(1);
    const shortened = await changeExpiry({ grantId, expiresAt: soon });
    expect(shortened.action).toMatchObject({ previousExpiresAt: null, newExpiresAt: tenantTime(soon) });
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
    const never = await changeExpiry({ grantId, expiresAt: null });
    expect(never.action).toMatchObject({ previousExpiresAt: tenantTime(soon), newExpiresAt: null });
    api.advance(2 * 3_600_000);
    expect((await accountState(account)).balance).toBe("25");
    // next_lapse_at follows every change: verify compares it with the grants.
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("expires the grant at once when the new expiry has already passed", async () => {
    const account = await api.openAccount(customer, { name: "At once" });
    await grantIn(account, "10", null);
    const grantId = await grantIn(account, "30", hours(24));
    api.advance(3_600_000);
    const past = new Date(api.now().getTime() - 30 * 60_000).toISOString();
    const result = await changeExpiry({ grantId, expiresAt: past });
    expect(result.userErrors).toEqual([]);
    // The past is not rewritten: the grant expires at the change, right after it.
    expect(result.action.newExpiresAt).toBe(result.action.grant.expiresAt);
    expect(result.action.grant).toMatchObject({ state: "EXPIRED", remainingAmount: "0" });
    expect(result.accounts).toEqual([{ id: account, balance: "10", sequence: 4 }]);
    const state = await accountState(account);
    expect(state.history.edges.slice(0, 2)).toMatchObject([
      { node: { type: "EXPIRATION", amount: "30" }, balanceBefore: "40", balanceAfter: "10" },
      { node: { type: "EXPIRATION_CHANGE", amount: "30" }, amount: "0", balanceBefore: "40", balanceAfter: "40" },
    ]);
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("refuses a grant that holds nothing any more, an unknown grant, a bad expiry and a backdated change, writing nothing", async () => {
    const account = await api.openAccount(customer, { name: "Refusals" });
    const grantId = await grantIn(account, "5", hours(1));
    expect(
      await refused({ grantId, expiresAt: "2020-01-01T00:00:00Z" }, "INVALID_EXPIRES_AT", ["input", "expiresAt"]),
    ).toMatch(/later than the grant's effective time/);
    expect(
      await refused(
        { grantId, expiresAt: hours(5), effectiveAt: new Date(api.now().getTime() - 60_000).toISOString() },
        "INVALID_EFFECTIVE_AT",
        ["input", "effectiveAt"],
      ),
    ).toMatch(/cannot be backdated/);
    await refused({ grantId, expiresAt: hours(5), expected: { balance: "6" } }, "ACCOUNT_CHANGED", [
      "input",
      "expected",
      "balance",
    ]);
    const invalid = await changeExpiry({ grantId: "bogus", expiresAt: hours(5) });
    expect(invalid.userErrors).toMatchObject([{ code: "INVALID_ID", field: ["input", "grantId"] }]);
    api.advance(2 * 3_600_000);
    expect(await refused({ grantId, expiresAt: hours(5) }, "GRANT_NOT_ACTIVE", ["input", "grantId"])).toMatch(
      /expired/,
    );
    const spent = await grantIn(account, "3", null);
    await api.data(`mutation ($input: ReduceInput!) { reduce(input: $input) { userErrors { code } } }`, {
      input: { accountId: account, amount: "3" },
    });
    // The message is about the grant, not about a void (the expiry change shares the void's refusals).
    const message = await refused({ grantId: spent, expiresAt: hours(5) }, "GRANT_NOT_ACTIVE", ["input", "grantId"]);
    expect(message).toMatch(/holds no credits/);
    expect(message).not.toMatch(/void/i);
  });

  it("quotes times in messages in the tenant's time zone, as the API shows every time, never in UTC", async () => {
    const account = await api.openAccount(customer, { name: "Times in messages" });
    const grantedAt = api.now().toISOString();
    const grantId = await grantIn(account, "5", hours(1));
    const message = await refused({ grantId, expiresAt: "2020-01-01T00:00:00Z" }, "INVALID_EXPIRES_AT", [
      "input",
      "expiresAt",
    ]);
    expect(message).toBe(`The expiry must be later than the grant's effective time (${tenantTime(grantedAt)}).`);
    // A backdated reduction beyond what the account had then names that time, in the tenant's zone too.
    const then = new Date(api.now().getTime() - 3_600_000).toISOString();
    const before = await api.snapshot();
    const reduced = await api.data(
      `mutation ($input: ReduceInput!) { reduce(input: $input) { userErrors { code message } } }`,
      { input: { accountId: account, amount: "1", effectiveAt: then } },
      { language: "cs" },
    );
    expect(reduced.reduce.userErrors).toHaveLength(1);
    expect(reduced.reduce.userErrors[0].code).toBe("INSUFFICIENT_CREDITS");
    expect(reduced.reduce.userErrors[0].message).toContain(`K okamžiku ${tenantTime(then)} `);
    expect(reduced.reduce.userErrors[0].message).not.toMatch(/\dZ/);
    expect(await api.snapshot()).toBe(before);
  });

  it("is idempotent with a key, and can be dry-run", async () => {
    const account = await api.openAccount(customer, { name: "Keyed" });
    const grantId = await grantIn(account, "8", hours(3));
    const input = { grantId, expiresAt: hours(10), idempotencyKey: "exp-change-1" };
    const preview = await api.data(
      `mutation ($input: ChangeCreditGrantExpiryInput!) { changeCreditGrantExpiry(input: $input) { preview { action { type amount entries { amount balanceBefore balanceAfter sequence } } } userErrors { code } } }`,
      { input: { ...input, dryRun: true } },
    );
    expect(preview.changeCreditGrantExpiry).toMatchObject({
      preview: {
        action: {
          type: "EXPIRATION_CHANGE",
          amount: "8",
          entries: [{ amount: "0", balanceBefore: "8", balanceAfter: "8", sequence: 2 }],
        },
      },
    });
    const first = await changeExpiry(input);
    expect(first).toMatchObject({ replayed: false, userErrors: [] });
    const again = await changeExpiry(input);
    expect(again).toMatchObject({ replayed: true, action: { id: first.action.id } });
    const reused = await changeExpiry({ ...input, expiresAt: hours(11) });
    expect(reused.userErrors).toMatchObject([{ code: "IDEMPOTENCY_KEY_REUSED" }]);
  });
});
