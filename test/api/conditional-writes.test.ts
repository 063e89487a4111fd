// Conditional writes (optimistic concurrency): every money-moving mutation may name the balance and sequence
// it expects an account to have, and is refused with ACCOUNT_CHANGED, writing nothing, when the account has
// moved since. Through the real server, on both engines.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let api: ApiFixture;
let customer: string;

beforeAll(async () => {
  api = await createApiFixture();
  customer = await api.createCustomer("CUST-COND");
});

afterAll(async () => {
  await api?.drop();
});

const payload = "replayed action { id type } accounts { id balance sequence } userErrors { code field message }";
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

async function state(accountId: string): Promise<{ balance: string; sequence: number }> {
  const data = await api.data("query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance sequence } } }", {
    id: accountId,
  });
  return data.node;
}

/** Runs the write and checks that it was refused with this code and field, and that nothing was written. */
async function refused(name: MutationName, input: Record<string, unknown>, code: string, field: string[]) {
  const before = await api.snapshot();
  const result = await write(name, input);
  expect(result.action).toBeNull();
  expect(result.userErrors).toHaveLength(1);
  expect(result.userErrors[0]).toMatchObject({ code, field });
  expect(await api.snapshot()).toBe(before);
  return result.userErrors[0].message as string;
}

/** Every conditional write with an input that is otherwise valid, and each of its expectation fields. */
async function conditionalWrites(name: string): Promise<[string, string, Record<string, unknown>, string][]> {
  const account = await api.openAccount(customer, { name });
  const other = await api.openAccount(customer, { name: `${name}, other side` });
  const deposited = await api.data(
    `mutation ($input: DepositInput!) { deposit(input: $input) { action { id grant { id } } } }`,
    { input: { accountId: account, amount: "40", grant: { expiresAt: "2099-01-01T00:00:00Z" } } },
  );
  const grantId = deposited.deposit.action.grant.id;
  const actionId = deposited.deposit.action.id;
  const held = await api.data(
    `mutation ($input: AuthorizeHoldInput!) { authorizeHold(input: $input) { hold { id } userErrors { code } } }`,
    { input: { accountId: account, amount: "5" } },
  );
  const holdId = held.authorizeHold.hold.id;
  const cases: [string, string, Record<string, unknown>, string][] = [
    ["deposit", "DepositInput", { accountId: account, amount: "1" }, "expected"],
    ["createCreditGrant", "CreateCreditGrantInput", { accountId: account, amount: "1" }, "expected"],
    ["reduce", "ReduceInput", { accountId: account, amount: "1" }, "expected"],
    ["transfer", "TransferInput", { sourceAccountId: account, targetAccountId: other, amount: "1" }, "expectedSource"],
    ["transfer", "TransferInput", { sourceAccountId: account, targetAccountId: other, amount: "1" }, "expectedTarget"],
    ["voidCreditGrant", "VoidCreditGrantInput", { grantId }, "expected"],
    [
      "changeCreditGrantExpiry",
      "ChangeCreditGrantExpiryInput",
      { grantId, expiresAt: "2098-01-01T00:00:00Z" },
      "expected",
    ],
    ["reverseCreditAction", "ReverseCreditActionInput", { actionId }, "expectedTarget"],
    ["reverseCreditAction", "ReverseCreditActionInput", { actionId }, "expectedSource"],
    ["authorizeHold", "AuthorizeHoldInput", { accountId: account, amount: "1" }, "expected"],
    ["captureHold", "CaptureHoldInput", { holdId }, "expected"],
  ];
  return cases;
}

describe("CreditAccount.sequence", () => {
  it("counts the account's entries and is the sequence number of its latest entry", async () => {
    const account = await api.openAccount(customer, { name: "Counted" });
    expect(await state(account)).toEqual({ balance: "0", sequence: 0 });
    const first = await write("deposit", { accountId: account, amount: "10" });
    expect(first.accounts).toEqual([{ id: account, balance: "10", sequence: 1 }]);
    await write("reduce", { accountId: account, amount: "4" });
    const data = await api.data(
      "query ($id: ID!) { node(id: $id) { ... on CreditAccount { sequence history(first: 1) { edges { node { entries { sequence } } } } } } }",
      { id: account },
    );
    expect(data.node.sequence).toBe(2);
    expect(data.node.history.edges[0].node.entries[0].sequence).toBe(2);
  });
});

describe("a conditional write", () => {
  it("goes through when the account is as expected, by balance, by sequence or by both", async () => {
    const account = await api.openAccount(customer, { name: "As expected" });
    const deposited = await write("deposit", {
      accountId: account,
      amount: "100",
      expected: { balance: "0", sequence: 0 },
    });
    expect(deposited.userErrors).toEqual([]);
    const reduced = await write("reduce", { accountId: account, amount: "30", expected: { balance: "100" } });
    expect(reduced.userErrors).toEqual([]);
    const again = await write("reduce", { accountId: account, amount: "20", expected: { sequence: 2 } });
    expect(again.userErrors).toEqual([]);
    expect(again.accounts).toEqual([{ id: account, balance: "50", sequence: 3 }]);
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("is refused with ACCOUNT_CHANGED when the balance moved, and writes nothing", async () => {
    const account = await api.openAccount(customer, { name: "Moved" });
    await write("deposit", { accountId: account, amount: "100" });
    const read = await state(account);
    await write("reduce", { accountId: account, amount: "1" });
    const message = await refused(
      "reduce",
      { accountId: account, amount: "50", expected: { balance: read.balance } },
      "ACCOUNT_CHANGED",
      ["input", "expected", "balance"],
    );
    expect(message).toBe(
      "The account has changed since it was read: its balance is 99, its sequence 2 and its held amount 0; expected balance 100. Nothing was written; read the account again and decide afresh.",
    );
    await refused(
      "deposit",
      { accountId: account, amount: "5", expected: { balance: "100", sequence: 2 } },
      "ACCOUNT_CHANGED",
      ["input", "expected", "balance"],
    );
  });

  it("is refused when an entry left the balance where it was but the sequence moved on", async () => {
    const account = await api.openAccount(customer, { name: "Same balance" });
    await write("deposit", { accountId: account, amount: "100" });
    const read = await state(account);
    await write("deposit", { accountId: account, amount: "5" });
    await write("reduce", { accountId: account, amount: "5" });
    expect((await state(account)).balance).toBe(read.balance);
    // The balance alone would pass; the sequence says that someone wrote meanwhile.
    expect(
      (await write("reduce", { accountId: account, amount: "1", expected: { balance: "100" } })).userErrors,
    ).toEqual([]);
    const message = await refused(
      "reduce",
      { accountId: account, amount: "1", expected: { sequence: read.sequence } },
      "ACCOUNT_CHANGED",
      ["input", "expected", "sequence"],
    );
    expect(message).toContain("expected sequence 1");
  });

  it("counts an expiry recorded since the read as a change", async () => {
    const account = await api.openAccount(customer, { name: "Lapsing" });
    await write("deposit", { accountId: account, amount: "10" });
    await write("deposit", {
      accountId: account,
      amount: "20",
      grant: { expiresAt: new Date(api.now().getTime() + 60_000).toISOString() },
    });
    const read = await state(account);
    expect(read).toEqual({ balance: "30", sequence: 2 });
    api.advance(120_000);
    await refused(
      "reduce",
      { accountId: account, amount: "5", expected: { sequence: read.sequence } },
      "ACCOUNT_CHANGED",
      ["input", "expected", "sequence"],
    );
    // Read again: the expiration is there, and the condition on what was read now holds.
    const fresh = await state(account);
    expect(fresh).toEqual({ balance: "10", sequence: 3 });
    expect((await write("reduce", { accountId: account, amount: "5", expected: fresh })).userErrors).toEqual([]);
  });

  it("checks each side of a transfer", async () => {
    const source = await api.openAccount(customer, { name: "Transfer source" });
    const target = await api.openAccount(customer, { name: "Transfer target" });
    await write("deposit", { accountId: source, amount: "100" });
    await write("deposit", { accountId: target, amount: "1" });
    const input = { sourceAccountId: source, targetAccountId: target, amount: "10" };
    await refused(
      "transfer",
      { ...input, expectedSource: { balance: "100" }, expectedTarget: { balance: "0" } },
      "ACCOUNT_CHANGED",
      ["input", "expectedTarget", "balance"],
    );
    await refused("transfer", { ...input, expectedSource: { sequence: 0 } }, "ACCOUNT_CHANGED", [
      "input",
      "expectedSource",
      "sequence",
    ]);
    const moved = await write("transfer", {
      ...input,
      expectedSource: { balance: "100", sequence: 1 },
      expectedTarget: { balance: "1", sequence: 1 },
    });
    expect(moved.userErrors).toEqual([]);
  });

  it("checks the grant's account of a void", async () => {
    const account = await api.openAccount(customer, { name: "Void" });
    const deposited = await api.data(
      `mutation ($input: DepositInput!) { deposit(input: $input) { action { grant { id } } } }`,
      { input: { accountId: account, amount: "40" } },
    );
    const grantId = deposited.deposit.action.grant.id;
    await write("deposit", { accountId: account, amount: "1" });
    await refused("voidCreditGrant", { grantId, expected: { balance: "40" } }, "ACCOUNT_CHANGED", [
      "input",
      "expected",
      "balance",
    ]);
    const voided = await write("voidCreditGrant", { grantId, expected: { balance: "41", sequence: 2 } });
    expect(voided.userErrors).toEqual([]);
    expect(voided.action.type).toBe("VOID");
  });

  it("checks the accounts of a reversal, and refuses a condition on a side the reversal does not have", async () => {
    const source = await api.openAccount(customer, { name: "Reversal source" });
    const target = await api.openAccount(customer, { name: "Reversal target" });
    await write("deposit", { accountId: source, amount: "50" });
    const moved = await write("transfer", { sourceAccountId: source, targetAccountId: target, amount: "20" });
    const deposit = await write("deposit", { accountId: target, amount: "3" });
    // The reversal takes back from the original's target and gives back to its source.
    await refused(
      "reverseCreditAction",
      { actionId: moved.action.id, expectedSource: { balance: "20" } },
      "ACCOUNT_CHANGED",
      ["input", "expectedSource", "balance"],
    );
    const message = await refused(
      "reverseCreditAction",
      { actionId: deposit.action.id, expectedTarget: { balance: "0" } },
      "ACCOUNT_NOT_FOUND",
      ["input", "expectedTarget"],
    );
    expect(message).toMatch(/a reversed deposit has no target/);
    const reversed = await write("reverseCreditAction", {
      actionId: moved.action.id,
      expectedSource: { balance: "23", sequence: 2 },
      expectedTarget: { balance: "30", sequence: 2 },
    });
    expect(reversed.userErrors).toEqual([]);
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("lets exactly one of two concurrent writes with the same condition through", async () => {
    const account = await api.openAccount(customer, { name: "Raced" });
    await write("deposit", { accountId: account, amount: "100" });
    const read = await state(account);
    const results = await Promise.all(
      ["60", "70"].map((amount) => write("reduce", { accountId: account, amount, expected: read })),
    );
    const codes = results.map((result) => result.userErrors.map((error: { code: string }) => error.code));
    expect(codes.sort()).toEqual([[], ["ACCOUNT_CHANGED"]]);
    const winner = results.find((result) => result.userErrors.length === 0);
    expect(await state(account)).toEqual({ balance: winner.accounts[0].balance, sequence: 2 });
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("refuses a negative expected sequence with INVALID_SEQUENCE", async () => {
    const account = await api.openAccount(customer, { name: "Bad sequence" });
    const message = await refused(
      "deposit",
      { accountId: account, amount: "5", expected: { sequence: -1 } },
      "INVALID_SEQUENCE",
      ["input", "expected", "sequence"],
    );
    expect(message).toMatch(/0 or more/);
  });

  it("refuses an expectation that names no state (`{}` or every part null) with INVALID_EXPECTED, on every conditional write", async () => {
    const cases = await conditionalWrites("Empty condition");
    const errors = "userErrors { code field message }";
    for (const [name, inputType, input, field] of cases) {
      for (const empty of [{}, { balance: null, sequence: null, held: null }]) {
        const before = await api.snapshot();
        const result = (
          await api.data(`mutation ($input: ${inputType}!) { ${name}(input: $input) { ${errors} } }`, {
            input: { ...input, [field]: empty },
          })
        )[name];
        expect(result.userErrors, `${name} ${field}`).toEqual([
          { code: "INVALID_EXPECTED", field: ["input", field], message: expect.stringContaining("names no state") },
        ]);
        expect(result.userErrors[0].message).toContain(`leave ${field} out`);
        expect(await api.snapshot()).toBe(before);
      }
    }
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("refuses an expectation no account can ever meet (a negative held, a balance below every floor) with INVALID_EXPECTED, on every conditional write and batch item", async () => {
    const cases = await conditionalWrites("Impossible condition");
    const errors = "userErrors { code field message }";
    const impossible: [Record<string, string>, string, RegExp][] = [
      [{ held: "-1" }, "held", /held can never be negative .*; got -1\./],
      [{ balance: "-9223372036854775808" }, "balance", /balance can never be -9223372036854775808/],
    ];
    for (const [name, inputType, input, field] of cases) {
      for (const [expected, part, message] of impossible) {
        const before = await api.snapshot();
        const result = (
          await api.data(`mutation ($input: ${inputType}!) { ${name}(input: $input) { ${errors} } }`, {
            input: { ...input, [field]: expected },
          })
        )[name];
        expect(result.userErrors, `${name} ${field}.${part}`).toEqual([
          { code: "INVALID_EXPECTED", field: ["input", field, part], message: expect.stringMatching(message) },
        ]);
        expect(result.userErrors[0].message).toContain(`${field}.${part}`);
        expect(await api.snapshot()).toBe(before);
      }
    }
    const depositInput = cases.find(([name]) => name === "deposit")?.[2];
    const before = await api.snapshot();
    const batch = await api.data(
      `mutation ($items: [CreditBatchItemInput!]!) { applyCreditBatch(input: { items: $items }) { itemErrors { index } ${errors} } }`,
      { items: [{ deposit: depositInput }, { deposit: { ...depositInput, expected: { held: "-5" } } }] },
    );
    expect(batch.applyCreditBatch.userErrors).toEqual([
      {
        code: "INVALID_EXPECTED",
        field: ["input", "items", "1", "deposit", "expected", "held"],
        message: expect.stringMatching(/never be negative/),
      },
    ]);
    expect(await api.snapshot()).toBe(before);
  });

  it("compares a negative expected balance like any other: an overdrawn account can have one", async () => {
    const account = await api.openAccount(customer, { name: "Overdrawn", overdraftLimit: "100" });
    expect((await write("reduce", { accountId: account, amount: "30" })).userErrors).toEqual([]);
    await refused("reduce", { accountId: account, amount: "1", expected: { balance: "-29" } }, "ACCOUNT_CHANGED", [
      "input",
      "expected",
      "balance",
    ]);
    const reduced = await write("reduce", { accountId: account, amount: "1", expected: { balance: "-30", held: "0" } });
    expect(reduced.userErrors).toEqual([]);
    expect(reduced.accounts).toEqual([{ id: account, balance: "-31", sequence: 2 }]);
  });

  it("answers a retry of a write that went through as a replay, not as a change", async () => {
    const account = await api.openAccount(customer, { name: "Retried" });
    const input = {
      accountId: account,
      amount: "9",
      idempotencyKey: "cond-1",
      expected: { balance: "0", sequence: 0 },
    };
    const first = await write("deposit", input);
    expect(first.userErrors).toEqual([]);
    // The retry's condition no longer holds (its own first attempt moved the account): it is still a replay.
    const again = await write("deposit", input);
    expect(again).toMatchObject({ replayed: true, action: { id: first.action.id }, userErrors: [] });
  });
});
