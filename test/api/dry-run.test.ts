// Dry runs: `dryRun: true` on a money-moving mutation answers what the write would do (the action, its entries
// with balances before and after, the grants it would spend in order, or its refusal) and writes nothing: no
// row, and the idempotency key stays free. Through the real server, on both engines.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let api: ApiFixture;
let customer: string;

beforeAll(async () => {
  api = await createApiFixture();
  customer = await api.createCustomer("CUST-DRY");
});

afterAll(async () => {
  await api?.drop();
});

const actionPreview = `type amount currency effectiveAt sourceAccount { id } targetAccount { id }
  entries { account { id } direction amount balanceBefore balanceAfter sequence }
  allocations { createsGrant direction amount grant { name priority remainingAmount expiresAt } }`;
const payload = `replayed action { id } accounts { id balance }
  preview { action { ${actionPreview} } settled { ${actionPreview} } }
  userErrors { code field message }`;
const mutations = {
  deposit: `mutation ($input: DepositInput!) { deposit(input: $input) { ${payload} } }`,
  reduce: `mutation ($input: ReduceInput!) { reduce(input: $input) { ${payload} } }`,
  transfer: `mutation ($input: TransferInput!) { transfer(input: $input) { ${payload} } }`,
  voidCreditGrant: `mutation ($input: VoidCreditGrantInput!) { voidCreditGrant(input: $input) { ${payload} } }`,
  reverseCreditAction: `mutation ($input: ReverseCreditActionInput!) { reverseCreditAction(input: $input) { ${payload} } }`,
};
type MutationName = keyof typeof mutations;

async function write(name: MutationName, input: Record<string, unknown>) {
  return (await api.data(mutations[name], { input }))[name];
}

/** A dry run, checked to have written nothing. */
async function dryRun(name: MutationName, input: Record<string, unknown>) {
  const before = await api.snapshot();
  const result = await write(name, { ...input, dryRun: true });
  expect(await api.snapshot()).toBe(before);
  return result;
}

const inAnHour = () => new Date(api.now().getTime() + 3_600_000).toISOString();

describe("a dry run", () => {
  it("of a deposit shows the action, its entry and the grant it would create, and writes nothing", async () => {
    const account = await api.openAccount(customer, { name: "Dry deposit" });
    const result = await dryRun("deposit", {
      accountId: account,
      amount: "100",
      grant: { name: "Welcome", priority: 10 },
    });
    expect(result).toMatchObject({ action: null, accounts: [], replayed: false, userErrors: [] });
    expect(result.preview.settled).toEqual([]);
    expect(result.preview.action).toMatchObject({
      type: "DEPOSIT",
      amount: "100",
      currency: "PTS",
      sourceAccount: null,
      targetAccount: { id: account },
      entries: [
        {
          account: { id: account },
          direction: "CREDIT",
          amount: "100",
          balanceBefore: "0",
          balanceAfter: "100",
          sequence: 1,
        },
      ],
      allocations: [
        {
          createsGrant: true,
          direction: "CREDIT",
          amount: "100",
          grant: { name: "Welcome", priority: 10, remainingAmount: "100", expiresAt: null },
        },
      ],
    });
  });

  it("of a reduction lists the grants it would spend in spending order, and matches the write that follows", async () => {
    const account = await api.openAccount(customer, { name: "Dry reduce" });
    await write("deposit", { accountId: account, amount: "50", grant: { name: "Late", priority: 60 } });
    await write("deposit", { accountId: account, amount: "30", grant: { name: "First", priority: 5 } });
    await write("deposit", {
      accountId: account,
      amount: "40",
      grant: { name: "Soon", priority: 60, expiresAt: inAnHour() },
    });
    const input = { accountId: account, amount: "90", note: "Order 7" };
    const result = await dryRun("reduce", input);
    const preview = result.preview.action;
    expect(preview.entries).toEqual([
      {
        account: { id: account },
        direction: "DEBIT",
        amount: "90",
        balanceBefore: "120",
        balanceAfter: "30",
        sequence: 4,
      },
    ]);
    // Lowest priority first, then the soonest expiry; each grant as it is before the write.
    expect(
      preview.allocations.map((a: { grant: { name: string }; amount: string }) => [a.grant.name, a.amount]),
    ).toEqual([
      ["First", "30"],
      ["Soon", "40"],
      ["Late", "20"],
    ]);
    expect(preview.allocations[2]).toMatchObject({
      createsGrant: false,
      direction: "DEBIT",
      grant: { remainingAmount: "50" },
    });

    // The write itself does exactly that.
    const written = await api.data(
      `mutation ($input: ReduceInput!) { reduce(input: $input) { action { entries { direction amount balanceBefore balanceAfter sequence } allocations { amount grant { name } } } } }`,
      { input },
    );
    expect(written.reduce.action.entries).toEqual(
      preview.entries.map(({ account: _account, ...entry }: Record<string, unknown>) => entry),
    );
    expect(
      // An action's stored allocations come in no particular order.
      written.reduce.action.allocations
        .map((a: { grant: { name: string }; amount: string }) => [a.grant.name, a.amount])
        .sort(),
    ).toEqual([
      ["First", "30"],
      ["Late", "20"],
      ["Soon", "40"],
    ]);
  });

  it("answers the refusal the write would meet, and writes nothing", async () => {
    const account = await api.openAccount(customer, { name: "Dry refusal" });
    await write("deposit", { accountId: account, amount: "10" });
    const result = await dryRun("reduce", { accountId: account, amount: "11" });
    expect(result).toMatchObject({ action: null, preview: null });
    expect(result.userErrors).toMatchObject([{ code: "INSUFFICIENT_CREDITS", field: ["input", "amount"] }]);
    const changed = await dryRun("reduce", { accountId: account, amount: "1", expected: { balance: "9" } });
    expect(changed.userErrors).toMatchObject([{ code: "ACCOUNT_CHANGED", field: ["input", "expected", "balance"] }]);
    const badId = await dryRun("reduce", { accountId: "nonsense", amount: "1" });
    expect(badId.userErrors).toMatchObject([{ code: "INVALID_ID", field: ["input", "accountId"] }]);
  });

  it("leaves the idempotency key free; once the key is used, it answers the replay", async () => {
    const account = await api.openAccount(customer, { name: "Dry key" });
    const input = { accountId: account, amount: "25", idempotencyKey: "dry-key-1" };
    const previewed = await dryRun("deposit", input);
    expect(previewed.preview.action.amount).toBe("25");
    const written = await write("deposit", input);
    expect(written).toMatchObject({ replayed: false, preview: null, userErrors: [] });
    const again = await dryRun("deposit", input);
    expect(again).toMatchObject({ replayed: true, action: { id: written.action.id }, preview: null, userErrors: [] });
    const reused = await dryRun("deposit", { ...input, amount: "26" });
    expect(reused.userErrors).toMatchObject([{ code: "IDEMPOTENCY_KEY_REUSED" }]);
  });

  it("of a transfer shows both entries, the grants spent in the source and those created in the target", async () => {
    const source = await api.openAccount(customer, { name: "Dry source" });
    const target = await api.openAccount(customer, { name: "Dry target" });
    await write("deposit", { accountId: source, amount: "70", grant: { name: "Promo", priority: 1 } });
    await write("deposit", { accountId: target, amount: "5" });
    const result = await dryRun("transfer", { sourceAccountId: source, targetAccountId: target, amount: "20" });
    expect(result.preview.action.entries).toEqual([
      {
        account: { id: source },
        direction: "DEBIT",
        amount: "20",
        balanceBefore: "70",
        balanceAfter: "50",
        sequence: 2,
      },
      {
        account: { id: target },
        direction: "CREDIT",
        amount: "20",
        balanceBefore: "5",
        balanceAfter: "25",
        sequence: 2,
      },
    ]);
    expect(result.preview.action.allocations).toMatchObject([
      { createsGrant: false, direction: "DEBIT", amount: "20", grant: { name: "Promo", remainingAmount: "70" } },
      { createsGrant: true, direction: "CREDIT", amount: "20", grant: { name: "Promo", priority: 1 } },
    ]);
  });

  it("shows the expirations the write would record first, without recording them", async () => {
    const account = await api.openAccount(customer, { name: "Dry lapse" });
    await write("deposit", { accountId: account, amount: "10" });
    await write("deposit", { accountId: account, amount: "15", grant: { name: "Brief", expiresAt: inAnHour() } });
    api.advance(2 * 3_600_000);
    // Selecting no account: reading an account records its lapsed grants first, as every read does.
    const entries = "entries { direction balanceBefore balanceAfter sequence }";
    const before = await api.snapshot();
    const result = await api.data(
      `mutation ($input: ReduceInput!) { reduce(input: $input) { userErrors { code }
        preview { action { type ${entries} } settled { type amount ${entries} allocations { direction amount grant { name } } } } } }`,
      { input: { accountId: account, amount: "4", dryRun: true } },
    );
    expect(await api.snapshot()).toBe(before);
    expect(result.reduce.preview.settled).toEqual([
      {
        type: "EXPIRATION",
        amount: "15",
        entries: [{ direction: "DEBIT", balanceBefore: "25", balanceAfter: "10", sequence: 3 }],
        allocations: [{ direction: "DEBIT", amount: "15", grant: { name: "Brief" } }],
      },
    ]);
    expect(result.reduce.preview.action).toEqual({
      type: "REDUCTION",
      entries: [{ direction: "DEBIT", balanceBefore: "10", balanceAfter: "6", sequence: 4 }],
    });
  });

  it("of a void and of a reversal shows their actions", async () => {
    const account = await api.openAccount(customer, { name: "Dry void" });
    const deposited = await api.data(
      `mutation ($input: DepositInput!) { deposit(input: $input) { action { id grant { id } } } }`,
      { input: { accountId: account, amount: "12" } },
    );
    const voided = await dryRun("voidCreditGrant", { grantId: deposited.deposit.action.grant.id });
    expect(voided.preview.action).toMatchObject({
      type: "VOID",
      amount: "12",
      entries: [{ direction: "DEBIT", balanceBefore: "12", balanceAfter: "0" }],
    });
    const reversed = await dryRun("reverseCreditAction", { actionId: deposited.deposit.action.id });
    expect(reversed.preview.action).toMatchObject({
      type: "REVERSAL",
      amount: "12",
      sourceAccount: { id: account },
      entries: [{ direction: "DEBIT", balanceBefore: "12", balanceAfter: "0" }],
    });
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });
});
