// An idempotent replay answers the original action unchanged (as Stripe returns the original response): the
// same action with the same entries, whose balanceAfter and sequence are each account's right after it. The
// payload's accounts are the accounts whole as they are now, every figure of one moment, never the balance of
// then beside the holds and scheduled grants of today; so they can be sent back as `expected`. Single writes,
// hold writes and batches alike, on both engines. The SDL, the README and the code say the same.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let fixture: ApiFixture;
let customer: string;

beforeAll(async () => {
  fixture = await createApiFixture();
  customer = await fixture.createCustomer("CUST-1");
});

afterAll(async () => {
  await fixture?.drop();
});

const day = 24 * 3_600_000;
/** An instant `ms` from the ledger's now, as ISO-8601 UTC. */
const fromNow = (ms: number) => new Date(fixture.now().getTime() + ms).toISOString();

const accountFields = "id balance held scheduled available sequence";
const payload = `replayed action { id entries { balanceAfter sequence } } accounts { ${accountFields} } userErrors { code }`;
const deposit = `mutation ($input: DepositInput!) { deposit(input: $input) { ${payload} } }`;
const reduce = `mutation ($input: ReduceInput!) { reduce(input: $input) { ${payload} } }`;
const transfer = `mutation ($input: TransferInput!) { transfer(input: $input) { ${payload} } }`;
const authorize = `mutation ($input: AuthorizeHoldInput!) { authorizeHold(input: $input) {
  replayed hold { id } account { ${accountFields} } userErrors { code } } }`;
const applyBatch = `mutation ($input: ApplyCreditBatchInput!) { applyCreditBatch(input: $input) {
  replayed batch { actions { id entries { balanceAfter sequence } } } accounts { ${accountFields} } userErrors { code } } }`;

const current = `query ($ids: [ID!]!) { nodes(ids: $ids) { ... on CreditAccount { ${accountFields} } } }`;

/** The accounts as a fresh read shows them. */
async function now(...ids: string[]) {
  return (await fixture.data(current, { ids })).nodes;
}

/** Moves an account on after a write: a hold of 40, a deposit of 9 scheduled for tomorrow, a reduction of 10. */
async function moveOn(account: string) {
  const hold = (await fixture.data(authorize, { input: { accountId: account, amount: "40" } })).authorizeHold;
  expect(hold.userErrors).toEqual([]);
  const later = { accountId: account, amount: "9", effectiveAt: fromNow(day) };
  expect((await fixture.data(deposit, { input: later })).deposit.userErrors).toEqual([]);
  expect((await fixture.data(reduce, { input: { accountId: account, amount: "10" } })).reduce.userErrors).toEqual([]);
}

describe("a replayed write", () => {
  it("returns the original action and entries, and its accounts whole as they are now", async () => {
    const account = await fixture.openAccount(customer, { name: "Single" });
    const input = { accountId: account, amount: "100", idempotencyKey: "dep-1" };
    const first = (await fixture.data(deposit, { input })).deposit;
    expect(first).toMatchObject({
      replayed: false,
      action: { entries: [{ balanceAfter: "100", sequence: 1 }] },
      accounts: [{ id: account, balance: "100", held: "0", scheduled: "0", available: "100", sequence: 1 }],
    });
    await moveOn(account);

    const again = (await fixture.data(deposit, { input })).deposit;
    expect(again.replayed).toBe(true);
    // The action is the original, to the entry: the balance and sequence right after it.
    expect(again.action).toEqual(first.action);
    // The accounts are of one moment, now; never balance 100 beside today's held 40 (available 60).
    expect(again.accounts).toEqual([
      { id: account, balance: "90", held: "40", scheduled: "9", available: "50", sequence: 2 },
    ]);
    expect(again.accounts).toEqual(await now(account));

    // So a client can send them back as its condition for the next write.
    const { balance, sequence, held } = again.accounts[0];
    const next = await fixture.data(reduce, {
      input: { accountId: account, amount: "5", expected: { balance, sequence, held } },
    });
    expect(next.reduce.userErrors).toEqual([]);
  });

  it("returns both accounts of a transfer as they are now, the entries as right after it", async () => {
    const source = await fixture.openAccount(customer, { name: "Source" });
    const target = await fixture.openAccount(customer, { name: "Target" });
    await fixture.data(deposit, { input: { accountId: source, amount: "100" } });
    const input = { sourceAccountId: source, targetAccountId: target, amount: "30", idempotencyKey: "tr-1" };
    const first = (await fixture.data(transfer, { input })).transfer;
    expect(first.action.entries).toEqual([
      { balanceAfter: "70", sequence: 2 },
      { balanceAfter: "30", sequence: 1 },
    ]);
    await fixture.data(deposit, { input: { accountId: target, amount: "7" } });
    await moveOn(source);

    const again = (await fixture.data(transfer, { input })).transfer;
    expect(again.replayed).toBe(true);
    expect(again.action).toEqual(first.action);
    expect(again.accounts).toEqual(await now(source, target));
    expect(again.accounts).toMatchObject([
      { id: source, balance: "60", held: "40", scheduled: "9", available: "20", sequence: 3 },
      { id: target, balance: "37", held: "0", available: "37", sequence: 2 },
    ]);
  });

  it("returns a hold's account as it is now", async () => {
    const account = await fixture.openAccount(customer, { name: "Hold" });
    await fixture.data(deposit, { input: { accountId: account, amount: "100" } });
    const input = { accountId: account, amount: "25", idempotencyKey: "hold-1" };
    const first = (await fixture.data(authorize, { input })).authorizeHold;
    expect(first.account).toMatchObject({ balance: "100", held: "25", available: "75" });
    await moveOn(account);

    const again = (await fixture.data(authorize, { input })).authorizeHold;
    expect(again).toMatchObject({ replayed: true, hold: first.hold });
    expect([again.account]).toEqual(await now(account));
    expect(again.account).toMatchObject({ balance: "90", held: "65", scheduled: "9", available: "25", sequence: 2 });
  });
});

describe("a replayed batch", () => {
  it("returns its actions and entries as written, and its accounts whole as they are now", async () => {
    const a = await fixture.openAccount(customer, { name: "Batch A" });
    const b = await fixture.openAccount(customer, { name: "Batch B" });
    const input = {
      idempotencyKey: "batch-1",
      items: [
        { deposit: { accountId: a, amount: "100" } },
        { transfer: { sourceAccountId: a, targetAccountId: b, amount: "30" } },
      ],
    };
    const first = (await fixture.data(applyBatch, { input })).applyCreditBatch;
    expect(first.userErrors).toEqual([]);
    expect(first.accounts).toEqual(await now(a, b));
    await moveOn(a);
    await fixture.data(deposit, { input: { accountId: b, amount: "1" } });

    const again = (await fixture.data(applyBatch, { input })).applyCreditBatch;
    expect(again.replayed).toBe(true);
    expect(again.batch).toEqual(first.batch);
    expect(again.batch.actions[1].entries).toEqual([
      { balanceAfter: "70", sequence: 2 },
      { balanceAfter: "30", sequence: 1 },
    ]);
    const accounts = await now(a, b);
    expect(accounts).toMatchObject([
      { balance: "60", held: "40", scheduled: "9", available: "20", sequence: 3 },
      { balance: "31", held: "0", scheduled: "0", available: "31", sequence: 2 },
    ]);
    const byId = (list: { id: string }[]) => Object.fromEntries(list.map((account) => [account.id, account]));
    expect(byId(again.accounts)).toEqual(byId(accounts));

    // Its figures can be sent back as the condition of the next write.
    const { balance, sequence, held } = byId(again.accounts)[a] as unknown as Record<string, string>;
    const next = await fixture.data(reduce, {
      input: { accountId: a, amount: "5", expected: { balance, sequence, held } },
    });
    expect(next.reduce.userErrors).toEqual([]);
  });
});

describe("the documentation of replays", () => {
  it("is alike in the SDL and the README", () => {
    const sdl = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
    expect(sdl).toMatch(/On a replay \(`replayed: true`\), every figure of each account/);
    expect(sdl).not.toMatch(/as they were right after the action: on a replay too/);
    expect(readme).toMatch(/the accounts whole as they are now, every figure/);
  });
});
