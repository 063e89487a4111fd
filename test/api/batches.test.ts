// Atomic batches through the API (applyCreditBatch), on both engines: a mix of deposits, reductions, transfers
// and holds written all or nothing in one transaction; a refusal at any item names the item by its index and
// writes nothing; size limits; one idempotency key for the batch (replay, reuse with other items); dry run;
// per-item expectations seeing the earlier items; the query cost of a batch; the write scope; and batches
// racing single writes and each other on the same accounts without deadlock or lost update.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { createApiFixture, type ApiFixture, type UserErrorBody } from "../support/api.ts";

let api: ApiFixture;
let customers = 0;

beforeAll(async () => {
  api = await createApiFixture();
});

afterAll(async () => {
  await api?.drop();
});

const batchMutation = `mutation ($input: ApplyCreditBatchInput!) { applyCreditBatch(input: $input) {
  replayed
  batch { idempotencyKey createdAt actions { id type amount sourceAccount { id } targetAccount { id } hold { id state amount } } }
  accounts { id balance held available }
  preview { action { type amount entries { balanceBefore balanceAfter } } }
  itemErrors { index userError { code field } }
  userErrors { code field message }
} }`;

async function batch(input: Record<string, unknown>, options: { language?: string } = {}) {
  return (await api.data(batchMutation, { input }, options)).applyCreditBatch;
}

async function applied(input: Record<string, unknown>) {
  const payload = await batch(input);
  expect(payload.userErrors).toEqual([]);
  expect(payload.itemErrors).toEqual([]);
  return payload;
}

/** Asserts the refusal (code and field of each user error, the items' indexes) and that nothing was written. */
async function refused(input: Record<string, unknown>, errors: [string, string[] | null][], indexes: number[]) {
  const before = await api.snapshot();
  const payload = await batch(input);
  expect(payload.userErrors.map((error: UserErrorBody) => [error.code, error.field])).toEqual(errors);
  for (const error of payload.userErrors) expect(error.message.length).toBeGreaterThan(10);
  expect(payload.itemErrors.map((error: { index: number }) => error.index)).toEqual(indexes);
  expect([payload.batch, payload.replayed, payload.preview]).toEqual([null, false, null]);
  expect(await api.snapshot()).toBe(before);
  return payload;
}

async function fundedAccount(amount: string) {
  const customer = await api.createCustomer(`batch-${++customers}`);
  const account = await api.openAccount(customer, { currency: "CZK" });
  if (amount !== "0") {
    const payload = await applied({ items: [{ deposit: { accountId: account, amount } }] });
    expect(payload.batch.actions).toHaveLength(1);
  }
  return account;
}

const balanceQuery = `query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance held available } } }`;

async function balanceOf(account: string) {
  return (await api.data(balanceQuery, { id: account })).node;
}

async function verifyClean() {
  expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
}

describe("a batch", () => {
  it("applies deposits, transfers, reductions and holds in order, in one transaction", async () => {
    const a = await fundedAccount("100");
    const b = await fundedAccount("0");
    const payload = await applied({
      idempotencyKey: "payroll-1",
      items: [
        { deposit: { accountId: a, amount: "400", note: "Top-up", grant: { category: "PROMOTIONAL", priority: 10 } } },
        // Spends what the deposit just added: each item sees the balances the items before it left.
        { transfer: { sourceAccountId: a, targetAccountId: b, amount: "450", externalReference: "split:1" } },
        { reduce: { accountId: b, amount: "50" } },
        { authorizeHold: { accountId: b, amount: "300", note: "Order 7" } },
      ],
    });
    expect(payload.replayed).toBe(false);
    expect(payload.batch.idempotencyKey).toBe("payroll-1");
    expect(payload.batch.actions.map((action: any) => [action.type, action.amount])).toEqual([
      ["DEPOSIT", "400"],
      ["TRANSFER", "450"],
      ["REDUCTION", "50"],
      ["HOLD", "300"],
    ]);
    expect(payload.batch.actions[1]).toMatchObject({ sourceAccount: { id: a }, targetAccount: { id: b } });
    expect(payload.batch.actions[3].hold).toMatchObject({ state: "PENDING", amount: "300" });
    const accounts = Object.fromEntries(payload.accounts.map((account: any) => [account.id, account]));
    expect(accounts[a]).toMatchObject({ balance: "50", held: "0", available: "50" });
    expect(accounts[b]).toMatchObject({ balance: "400", held: "300", available: "100" });
    expect(await balanceOf(b)).toEqual({ balance: "400", held: "300", available: "100" });
    await verifyClean();
  });

  it("schedules a deposit item with a future effective time, as a single deposit does", async () => {
    const a = await fundedAccount("0");
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const payload = await applied({
      items: [
        { deposit: { accountId: a, amount: "10" } },
        { deposit: { accountId: a, amount: "5", effectiveAt: later } },
      ],
    });
    expect(payload.batch.actions.map((action: any) => [action.type, action.amount])).toEqual([
      ["DEPOSIT", "10"],
      ["DEPOSIT", "5"],
    ]);
    const account = (
      await api.data(`query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance scheduled sequence } } }`, {
        id: a,
      })
    ).node;
    expect(account).toEqual({ balance: "10", scheduled: "5", sequence: 1 });
    // Not spendable before its time, in a later item of the same batch either.
    await refused(
      {
        items: [
          { deposit: { accountId: a, amount: "1", effectiveAt: later } },
          { reduce: { accountId: a, amount: "12" } },
        ],
      },
      [["INSUFFICIENT_CREDITS", ["input", "items", "1", "reduce", "amount"]]],
      [1],
    );
    await verifyClean();
  });

  it("captures and releases holds placed before it, and spends what a release gave back", async () => {
    const a = await fundedAccount("100");
    const placed = await applied({
      items: [{ authorizeHold: { accountId: a, amount: "60" } }, { authorizeHold: { accountId: a, amount: "40" } }],
    });
    const [first, second] = placed.batch.actions.map((action: any) => action.hold.id);
    expect(placed.accounts).toMatchObject([{ id: a, balance: "100", held: "100", available: "0" }]);
    const input = {
      idempotencyKey: "settle-holds",
      items: [
        { captureHold: { holdId: first, amount: "50" } },
        { releaseHold: { holdId: second } },
        // Available only because the capture and the release before it freed the holds' credits.
        { reduce: { accountId: a, amount: "50" } },
      ],
    };
    const settled = await applied(input);
    expect(
      settled.batch.actions.map((action: any) => [action.type, action.amount, action.hold?.state ?? null]),
    ).toEqual([
      ["REDUCTION", "50", "CAPTURED"],
      ["HOLD_RELEASE", "40", "RELEASED"],
      ["REDUCTION", "50", null],
    ]);
    expect(settled.accounts).toMatchObject([{ id: a, balance: "0", held: "0", available: "0" }]);
    const replay = await applied(input);
    expect(replay.replayed).toBe(true);
    expect(replay.accounts).toMatchObject([{ id: a, balance: "0" }]);
    // Both holds are closed now: releasing one again is refused at its item, and nothing is written.
    await refused(
      { items: [{ deposit: { accountId: a, amount: "5" } }, { releaseHold: { holdId: second } }] },
      [["HOLD_NOT_PENDING", ["input", "items", "1", "releaseHold", "holdId"]]],
      [1],
    );
    await refused(
      { items: [{ captureHold: { holdId: a } }] },
      [["INVALID_ID", ["input", "items", "0", "captureHold", "holdId"]]],
      [0],
    );
    await verifyClean();
  });

  it("refused at item k writes nothing and names item k", async () => {
    const a = await fundedAccount("100");
    const b = await fundedAccount("0");
    const payload = await refused(
      {
        items: [
          { deposit: { accountId: a, amount: "10" } },
          { transfer: { sourceAccountId: a, targetAccountId: b, amount: "60" } },
          // 50 left on a: the third item asks for more.
          { reduce: { accountId: a, amount: "51" } },
          { deposit: { accountId: b, amount: "5" } },
        ],
      },
      [["INSUFFICIENT_CREDITS", ["input", "items", "2", "reduce", "amount"]]],
      [2],
    );
    expect(payload.itemErrors[0].userError).toEqual({
      code: "INSUFFICIENT_CREDITS",
      field: ["input", "items", "2", "reduce", "amount"],
    });
    expect(payload.userErrors[0].message).toContain("50");
    expect(await balanceOf(a)).toMatchObject({ balance: "100" });
  });

  it("reports every item whose input is invalid, with its index, and writes nothing", async () => {
    const a = await fundedAccount("100");
    await refused(
      {
        items: [
          { deposit: { accountId: a, amount: "0" } },
          { reduce: { accountId: a, amount: "1" } },
          { transfer: { sourceAccountId: "not-an-id", targetAccountId: a, amount: "1" } },
          { authorizeHold: { accountId: a, amount: "5", note: "x".repeat(1001) } },
          { transfer: { sourceAccountId: a, targetAccountId: a, amount: "1" } },
        ],
      },
      [["INVALID_ID", ["input", "items", "2", "transfer", "sourceAccountId"]]],
      [2],
    );
    // Once every ID decodes, the ledger checks each item's input and reports all of them.
    await refused(
      {
        items: [
          { deposit: { accountId: a, amount: "0" } },
          { reduce: { accountId: a, amount: "1" } },
          { authorizeHold: { accountId: a, amount: "5", note: "x".repeat(1001) } },
          { transfer: { sourceAccountId: a, targetAccountId: a, amount: "1" } },
          { deposit: { accountId: a, amount: "5", grant: { priority: 101 } } },
        ],
      },
      [
        ["AMOUNT_NOT_POSITIVE", ["input", "items", "0", "deposit", "amount"]],
        ["NOTE_TOO_LONG", ["input", "items", "2", "authorizeHold", "note"]],
        ["SAME_ACCOUNT", ["input", "items", "3", "transfer", "targetAccountId"]],
        ["INVALID_PRIORITY", ["input", "items", "4", "deposit", "grant", "priority"]],
      ],
      [0, 2, 3, 4],
    );
  });

  it("refuses unknown and closed accounts and unknown stores at the item that names them", async () => {
    const a = await fundedAccount("100");
    const other = await api.createTenant("Other tenant");
    const foreignCustomer = await api.createCustomer("foreign", { key: other.key });
    const foreign = await api.openAccount(foreignCustomer, { currency: "CZK", key: other.key });
    await refused(
      { items: [{ reduce: { accountId: a, amount: "1" } }, { deposit: { accountId: foreign, amount: "1" } }] },
      [["ACCOUNT_NOT_FOUND", ["input", "items", "1", "deposit", "accountId"]]],
      [1],
    );
    const closed = await fundedAccount("0");
    const closing = await api.data(
      `mutation ($input: CloseCreditAccountInput!) { closeCreditAccount(input: $input) { userErrors { code } } }`,
      { input: { accountId: closed } },
    );
    expect(closing.closeCreditAccount.userErrors).toEqual([]);
    await refused(
      {
        items: [
          { deposit: { accountId: a, amount: "1" } },
          { transfer: { sourceAccountId: a, targetAccountId: closed, amount: "1" } },
        ],
      },
      [["ACCOUNT_CLOSED", ["input", "items", "1", "transfer", "targetAccountId"]]],
      [1],
    );
    const foreignStore = await api.createStore("Elsewhere", { key: other.key });
    await refused(
      {
        items: [
          { deposit: { accountId: a, amount: "1" } },
          { deposit: { accountId: a, amount: "1", storeId: foreignStore } },
        ],
      },
      [["STORE_NOT_FOUND", ["input", "items", "1", "deposit", "storeId"]]],
      [1],
    );
    const store = await api.createStore("Main street");
    await applied({
      items: [
        { deposit: { accountId: a, amount: "1", storeId: store } },
        { reduce: { accountId: a, amount: "1", storeId: store } },
      ],
    });
    await verifyClean();
  });

  it("refuses an empty batch and one larger than 100 items as a whole", async () => {
    const a = await fundedAccount("0");
    await refused({ items: [] }, [["BATCH_EMPTY", ["input", "items"]]], []);
    const items = Array.from({ length: 101 }, () => ({ deposit: { accountId: a, amount: "1" } }));
    const payload = await refused({ items }, [["BATCH_TOO_LARGE", ["input", "items"]]], []);
    expect(payload.userErrors[0].message).toContain("100");
  });

  it("takes exactly one operation per item (@oneOf)", async () => {
    const a = await fundedAccount("10");
    const before = await api.snapshot();
    const body = await api.graphql(batchMutation, {
      input: { items: [{ deposit: { accountId: a, amount: "1" }, reduce: { accountId: a, amount: "1" } }] },
    });
    expect(body.errors?.[0]?.message).toMatch(/Exactly one key/);
    expect(await api.snapshot()).toBe(before);
  });

  it("answers a retry with the same key from the stored batch, and refuses the key with other items", async () => {
    const a = await fundedAccount("100");
    const b = await fundedAccount("0");
    const input = {
      idempotencyKey: "nightly-2026-03-01",
      items: [
        { transfer: { sourceAccountId: a, targetAccountId: b, amount: "30" } },
        { reduce: { accountId: b, amount: "10" } },
      ],
    };
    const first = await applied(input);
    // The accounts move on; the replay answers the stored actions, and the accounts as they are now.
    await applied({ items: [{ deposit: { accountId: b, amount: "1000" } }] });
    const before = await api.snapshot();
    const replay = await applied(input);
    expect(await api.snapshot()).toBe(before);
    expect(replay.replayed).toBe(true);
    expect(replay.batch.actions.map((action: any) => action.id)).toEqual(
      first.batch.actions.map((action: any) => action.id),
    );
    expect(replay.batch.createdAt).toBe(first.batch.createdAt);
    const balances = Object.fromEntries(replay.accounts.map((account: any) => [account.id, account.balance]));
    expect(balances).toEqual({ [a]: "70", [b]: "1020" });

    const reused = await refused(
      { ...input, items: [input.items[0], { reduce: { accountId: b, amount: "11" } }] },
      [["IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"]]],
      [],
    );
    expect(reused.itemErrors).toEqual([]);
    await refused({ ...input, idempotencyKey: "" }, [["INVALID_IDEMPOTENCY_KEY", ["input", "idempotencyKey"]]], []);
    await verifyClean();
  });

  it("on a dry run answers what each item would write, and writes nothing (the key stays free)", async () => {
    const a = await fundedAccount("100");
    const b = await fundedAccount("0");
    const input = {
      idempotencyKey: "dry-1",
      items: [
        { transfer: { sourceAccountId: a, targetAccountId: b, amount: "40" } },
        { reduce: { accountId: b, amount: "15" } },
      ],
    };
    const before = await api.snapshot();
    const dry = await applied({ ...input, dryRun: true });
    expect(await api.snapshot()).toBe(before);
    expect(dry.batch).toBeNull();
    expect(dry.preview).toEqual([
      {
        action: {
          type: "TRANSFER",
          amount: "40",
          entries: [
            { balanceBefore: "100", balanceAfter: "60" },
            { balanceBefore: "0", balanceAfter: "40" },
          ],
        },
      },
      {
        action: { type: "REDUCTION", amount: "15", entries: [{ balanceBefore: "40", balanceAfter: "25" }] },
      },
    ]);
    // A dry run that would be refused says so, with the item.
    await refused(
      { ...input, dryRun: true, items: [input.items[0], { reduce: { accountId: b, amount: "41" } }] },
      [["INSUFFICIENT_CREDITS", ["input", "items", "1", "reduce", "amount"]]],
      [1],
    );
    const written = await applied(input);
    expect(written.replayed).toBe(false);
    expect(await balanceOf(b)).toMatchObject({ balance: "25" });
  });

  it("compares each item's expected state with the account as the earlier items left it", async () => {
    const a = await fundedAccount("100");
    await applied({
      items: [
        { deposit: { accountId: a, amount: "50", expected: { balance: "100", sequence: 1 } } },
        { reduce: { accountId: a, amount: "20", expected: { balance: "150", sequence: 2 } } },
      ],
    });
    await refused(
      {
        items: [
          { deposit: { accountId: a, amount: "50", expected: { balance: "130" } } },
          { reduce: { accountId: a, amount: "20", expected: { balance: "130" } } },
        ],
      },
      [["ACCOUNT_CHANGED", ["input", "items", "1", "reduce", "expected", "balance"]]],
      [1],
    );
  });

  it("costs a mutation's query cost per item", async () => {
    const a = await fundedAccount("0");
    const items = Array.from({ length: 50 }, () => ({ deposit: { accountId: a, amount: "1" } }));
    const body = await api.graphql(
      `mutation ($input: ApplyCreditBatchInput!) { applyCreditBatch(input: $input) { userErrors { code } } }`,
      { input: { items } },
    );
    expect(body.data?.applyCreditBatch.userErrors).toEqual([]);
    // As 50 single mutations would cost (10 each), plus the one object selected.
    const cost = (body as { extensions?: { cost?: { requestedQueryCost: number } } }).extensions?.cost;
    expect(cost?.requestedQueryCost).toBe(50 * 10 + 1);
  });

  it("needs the write scope", async () => {
    const a = await fundedAccount("10");
    const readKey = (await createApiKey(api.database, { tenantId: api.tenantId, name: "reports", scopes: ["read"] }))
      .secret;
    const before = await api.snapshot();
    const body = await api.graphql(
      batchMutation,
      { input: { items: [{ reduce: { accountId: a, amount: "1" } }] } },
      { key: readKey },
    );
    expect(body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await api.snapshot()).toBe(before);
  });
});

describe("batches racing single writes and each other", () => {
  it("neither deadlock nor lose an update, and every success is counted exactly once", async () => {
    const accounts = [await fundedAccount("1000"), await fundedAccount("1000"), await fundedAccount("1000")];
    const [a, b, c] = accounts as [string, string, string];
    // Batches move credits around the ring in both directions and take some; single writes cross them.
    const batches = Array.from({ length: 8 }, (_, index) =>
      batch({
        items:
          index % 2 === 0
            ? [
                { transfer: { sourceAccountId: a, targetAccountId: b, amount: "10" } },
                { transfer: { sourceAccountId: b, targetAccountId: c, amount: "10" } },
                { reduce: { accountId: c, amount: "3" } },
              ]
            : [
                { transfer: { sourceAccountId: c, targetAccountId: b, amount: "7" } },
                { transfer: { sourceAccountId: b, targetAccountId: a, amount: "7" } },
                { deposit: { accountId: a, amount: "2" } },
              ],
      }),
    );
    const singles = Array.from({ length: 8 }, (_, index) =>
      api.data(`mutation ($input: TransferInput!) { transfer(input: $input) { userErrors { code } } }`, {
        input:
          index % 2 === 0
            ? { sourceAccountId: c, targetAccountId: a, amount: "5" }
            : { sourceAccountId: b, targetAccountId: c, amount: "5" },
      }),
    );
    const [batchResults, singleResults] = await Promise.all([Promise.all(batches), Promise.all(singles)]);
    for (const result of batchResults) expect(result.userErrors).toEqual([]);
    for (const result of singleResults) expect(result.transfer.userErrors).toEqual([]);
    // Four batches of each kind and four single transfers of each kind, all written.
    const expected = {
      [a]: 1000 - 4 * 10 + 4 * 7 + 4 * 2 + 4 * 5,
      [b]: 1000 + 4 * 10 - 4 * 10 + 4 * 7 - 4 * 7 - 4 * 5,
      [c]: 1000 + 4 * 10 - 4 * 3 - 4 * 7 - 4 * 5 + 4 * 5,
    };
    for (const account of accounts) {
      expect((await balanceOf(account)).balance).toBe(String(expected[account]));
    }
    await verifyClean();
  });
});
