// Holds through the API, as a checkout uses them: authorizeHold when the order is placed, captureHold when it
// ships (or releaseHold when it is cancelled), an expiry that releases a forgotten hold by itself and is never
// stale on read, the account's `held`, `available` and `holds(state:)`, and every refusal as a userError with a
// stable code, the input field, a message in the request's language, and nothing written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiFixture, type ApiFixture, type UserErrorBody } from "../support/api.ts";

let api: ApiFixture;
let customers = 0;
const day = 24 * 60 * 60 * 1000;

beforeAll(async () => {
  api = await createApiFixture();
});

afterAll(async () => {
  await api?.drop();
});

const holdPayload = `
  replayed
  hold { id state amount capturedAmount releasedAmount currency expiresAt closedAt }
  action { id type amount hold { id } }
  account { id balance held available }
  userErrors { code field message }`;

const mutations = {
  authorizeHold: `mutation ($input: AuthorizeHoldInput!) { authorizeHold(input: $input) { ${holdPayload} } }`,
  captureHold: `mutation ($input: CaptureHoldInput!) { captureHold(input: $input) { ${holdPayload} } }`,
  releaseHold: `mutation ($input: ReleaseHoldInput!) { releaseHold(input: $input) { ${holdPayload} } }`,
  deposit: `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code } } }`,
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
  expect([payload.hold, payload.action, payload.account]).toEqual([null, null, null]);
  expect(await api.snapshot()).toBe(before);
  return payload.userErrors[0];
}

async function fundedAccount(amount: string, options: { overdraftLimit?: string } = {}) {
  const customer = await api.createCustomer(`hold-${++customers}`);
  const account = await api.openAccount(customer, { currency: "CZK", ...options });
  if (amount !== "0") await ok("deposit", { accountId: account, amount });
  return account;
}

const accountQuery = `query ($id: ID!) { node(id: $id) { ... on CreditAccount {
  balance held available
  pending: holds(state: PENDING) { edges { node { id amount } } }
  captured: holds(state: CAPTURED) { edges { node { id capturedAmount } } }
  expired: holds(state: EXPIRED) { edges { node { id state closedAt actions { type initiator { type } } } } }
  history { edges { node { type amount hold { id } } } }
} } }`;

describe("a checkout", () => {
  it("reserves credit at the order, takes part of it at shipping, and shows every step", async () => {
    const account = await fundedAccount("1000");
    const placed = await ok("authorizeHold", {
      accountId: account,
      amount: "400",
      expiresAt: "2026-03-22 10:00:00",
      note: "Order 1001",
      externalReference: "order:1001",
      idempotencyKey: "order-1001-hold",
    });
    expect(placed).toMatchObject({
      replayed: false,
      hold: { state: "PENDING", amount: "400", capturedAmount: "0", releasedAmount: "0", currency: "CZK" },
      action: { type: "HOLD", amount: "400" },
      account: { id: account, balance: "1000", held: "400", available: "600" },
    });
    expect(placed.hold.expiresAt).toBe("2026-03-22T10:00:00.000+01:00");
    expect(placed.action.hold.id).toBe(placed.hold.id);

    const replay = await ok("authorizeHold", {
      accountId: account,
      amount: "400",
      expiresAt: "2026-03-22 10:00:00",
      note: "Order 1001",
      externalReference: "order:1001",
      idempotencyKey: "order-1001-hold",
    });
    expect(replay).toMatchObject({ replayed: true, hold: { id: placed.hold.id }, action: { id: placed.action.id } });

    const shipped = await ok("captureHold", { holdId: placed.hold.id, amount: "350", note: "Shipped" });
    expect(shipped).toMatchObject({
      hold: { id: placed.hold.id, state: "CAPTURED", capturedAmount: "350", releasedAmount: "50" },
      action: { type: "REDUCTION", amount: "350", hold: { id: placed.hold.id } },
      account: { balance: "650", held: "0", available: "650" },
    });

    const read = (await api.data(accountQuery, { id: account })).node;
    expect(read).toMatchObject({ balance: "650", held: "0", available: "650", pending: { edges: [] } });
    expect(read.captured.edges.map((edge: any) => edge.node)).toEqual([{ id: placed.hold.id, capturedAmount: "350" }]);
    // Only the capture moved credits, so only it is in the account's history, linked to its hold.
    expect(read.history.edges.map((edge: any) => edge.node)).toEqual([
      { type: "REDUCTION", amount: "350", hold: { id: placed.hold.id } },
      { type: "DEPOSIT", amount: "1000", hold: null },
    ]);
    const hold = (
      await api.data(
        `query ($id: ID!) { node(id: $id) { ... on CreditHold {
          state account { id }
          authorization { type note externalReference idempotencyKey }
          capture { type amount note }
          actions { type amount }
        } } }`,
        { id: placed.hold.id },
      )
    ).node;
    expect(hold).toEqual({
      state: "CAPTURED",
      account: { id: account },
      authorization: {
        type: "HOLD",
        note: "Order 1001",
        externalReference: "order:1001",
        idempotencyKey: "order-1001-hold",
      },
      capture: { type: "REDUCTION", amount: "350", note: "Shipped" },
      actions: [
        { type: "HOLD", amount: "400" },
        { type: "REDUCTION", amount: "350" },
      ],
    });
  });

  it("releases a cancelled order's hold", async () => {
    const account = await fundedAccount("100");
    const placed = await ok("authorizeHold", { accountId: account, amount: "100" });
    const released = await ok("releaseHold", { holdId: placed.hold.id, note: "Cancelled" });
    expect(released).toMatchObject({
      hold: { state: "RELEASED", releasedAmount: "100" },
      action: { type: "HOLD_RELEASE", amount: "100" },
      account: { balance: "100", held: "0", available: "100" },
    });
  });

  it("shows a hold past its expiry as expired at once, its credits available again, without waiting for a job", async () => {
    const account = await fundedAccount("100");
    const expiresAt = new Date(api.now().getTime() + day);
    const placed = await ok("authorizeHold", { accountId: account, amount: "70", expiresAt: expiresAt.toISOString() });
    api.advance(day);
    const read = (await api.data(accountQuery, { id: account })).node;
    expect(read).toMatchObject({ balance: "100", held: "0", available: "100", pending: { edges: [] } });
    expect(read.expired.edges.map((edge: any) => edge.node)).toEqual([
      {
        id: placed.hold.id,
        state: "EXPIRED",
        closedAt: "2026-03-02T11:00:00.000+01:00",
        actions: [
          { type: "HOLD", initiator: { type: "API_KEY" } },
          { type: "HOLD_EXPIRATION", initiator: { type: "SYSTEM" } },
        ],
      },
    ]);
    const error = await refused("captureHold", { holdId: placed.hold.id }, "HOLD_NOT_PENDING", ["input", "holdId"]);
    expect(error.message).toBe("The hold is no longer pending: it has expired.");
  });

  it("reads a hold by its ID with its expiry recorded first", async () => {
    const account = await fundedAccount("100");
    const placed = await ok("authorizeHold", {
      accountId: account,
      amount: "10",
      expiresAt: new Date(api.now().getTime() + day).toISOString(),
    });
    api.advance(day);
    const node = (
      await api.data(`query ($id: ID!) { node(id: $id) { ... on CreditHold { state } } }`, { id: placed.hold.id })
    ).node;
    expect(node).toEqual({ state: "EXPIRED" });
  });
});

describe("refusals", () => {
  it("refuses each wrong argument with its code and field, in the request's language, and writes nothing", async () => {
    const account = await fundedAccount("100");
    const placed = await ok("authorizeHold", { accountId: account, amount: "60" });
    const holdId = placed.hold.id;
    await refused("authorizeHold", { accountId: holdId, amount: "10" }, "INVALID_ID", ["input", "accountId"]);
    await refused("authorizeHold", { accountId: account, amount: "0" }, "AMOUNT_NOT_POSITIVE", ["input", "amount"]);
    const insufficient = await refused(
      "authorizeHold",
      { accountId: account, amount: "41" },
      "INSUFFICIENT_CREDITS",
      ["input", "amount"],
      { language: "cs" },
    );
    expect(insufficient.message).toBe("Na účtu je k dispozici 40 CZK; požadováno bylo 41.");
    await refused(
      "authorizeHold",
      { accountId: account, amount: "10", expiresAt: "2020-01-01" },
      "INVALID_EXPIRES_AT",
      ["input", "expiresAt"],
    );
    await refused("captureHold", { holdId: account }, "INVALID_ID", ["input", "holdId"]);
    await refused("releaseHold", { holdId: account }, "INVALID_ID", ["input", "holdId"]);
    await refused("captureHold", { holdId, amount: "-1" }, "AMOUNT_NOT_POSITIVE", ["input", "amount"]);
    const exceeds = await refused(
      "captureHold",
      { holdId, amount: "61" },
      "CAPTURE_EXCEEDS_HOLD",
      ["input", "amount"],
      {
        language: "cs",
      },
    );
    expect(exceeds.message).toBe("Blokace rezervuje 60; nelze z ní zúčtovat 61.");
    await refused("captureHold", { holdId, storeId: account }, "INVALID_ID", ["input", "storeId"]);
    await ok("releaseHold", { holdId });
    const again = await refused("releaseHold", { holdId }, "HOLD_NOT_PENDING", ["input", "holdId"], { language: "cs" });
    expect(again.message).toBe("Blokace již netrvá: byla uvolněna.");
    await refused("captureHold", { holdId }, "HOLD_NOT_PENDING", ["input", "holdId"]);

    // Another tenant's hold reads exactly like one that does not exist.
    const other = await api.createTenant("Other shop");
    const before = await api.snapshot();
    const foreign = await api.data(mutations.captureHold, { input: { holdId } }, { key: other.key });
    expect(foreign.captureHold.userErrors.map((error: UserErrorBody) => [error.code, error.field])).toEqual([
      ["HOLD_NOT_FOUND", ["input", "holdId"]],
    ]);
    expect(await api.snapshot()).toBe(before);
  });

  it("has no effectiveAt on hold inputs: holds take effect when recorded", async () => {
    const account = await fundedAccount("100");
    const body = await api.graphql(mutations.authorizeHold, {
      input: { accountId: account, amount: "10", effectiveAt: "2026-01-01" },
    });
    expect(body.errors?.[0]?.extensions?.code).toBe("INVALID_VARIABLES");
  });
});

describe("holds with conditions and dry runs", () => {
  const sequenceOf = async (account: string) =>
    (
      await api.data(`query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance sequence held } } }`, {
        id: account,
      })
    ).node as { balance: string; sequence: number; held: string };

  it("places and captures a hold only while the account is as the client last read it", async () => {
    const account = await fundedAccount("500");
    const read = await sequenceOf(account);
    // Another write moves the account after the client read it: a hold on the stale reading is refused.
    await ok("deposit", { accountId: account, amount: "1" });
    await refused(
      "authorizeHold",
      { accountId: account, amount: "100", expected: { sequence: read.sequence } },
      "ACCOUNT_CHANGED",
      ["input", "expected", "sequence"],
    );
    const fresh = await sequenceOf(account);
    const placed = await ok("authorizeHold", {
      accountId: account,
      amount: "100",
      expected: { balance: fresh.balance, sequence: fresh.sequence },
    });
    // A hold moves no entry: the sequence stays, so a capture may expect what the client read before the hold.
    await ok("deposit", { accountId: account, amount: "2" });
    await refused("captureHold", { holdId: placed.hold.id, expected: { balance: fresh.balance } }, "ACCOUNT_CHANGED", [
      "input",
      "expected",
      "balance",
    ]);
    const now = await sequenceOf(account);
    const captured = await ok("captureHold", { holdId: placed.hold.id, expected: { sequence: now.sequence } });
    expect(captured.hold.state).toBe("CAPTURED");
    expect(captured.account).toMatchObject({ balance: String(BigInt(now.balance) - 100n), held: "0" });
  });

  it("notices holds through `held`: of concurrent holds on one reading, exactly one is placed", async () => {
    const account = await fundedAccount("500");
    const read = await sequenceOf(account);
    const expected = { balance: read.balance, sequence: read.sequence, held: read.held };
    const attempts = await Promise.all(
      Array.from({ length: 6 }, () => mutate("authorizeHold", { accountId: account, amount: "1", expected })),
    );
    const codes = attempts.map((payload) => payload.userErrors[0]?.code ?? "OK").sort();
    expect(codes).toEqual([
      "ACCOUNT_CHANGED",
      "ACCOUNT_CHANGED",
      "ACCOUNT_CHANGED",
      "ACCOUNT_CHANGED",
      "ACCOUNT_CHANGED",
      "OK",
    ]);
    expect(attempts.find((payload) => payload.userErrors.length > 0)?.userErrors[0].field).toEqual([
      "input",
      "expected",
      "held",
    ]);
    // A hold moves neither balance nor sequence, so a reduction expecting only those still goes through;
    // expecting `held` as read before the hold, it is refused.
    const before = await api.snapshot();
    const stale = (
      await api.data(
        `mutation ($input: DepositInput!) { deposit(input: $input) { action { id } userErrors { code field } } }`,
        { input: { accountId: account, amount: "1", expected: { held: read.held } } },
      )
    ).deposit;
    expect(stale).toEqual({
      action: null,
      userErrors: [{ code: "ACCOUNT_CHANGED", field: ["input", "expected", "held"] }],
    });
    expect(await api.snapshot()).toBe(before);
    expect(await sequenceOf(account)).toMatchObject({ balance: "500", held: "1" });
  });

  it("answers what a hold's write would do on a dry run, and writes nothing", async () => {
    const account = await fundedAccount("300");
    const preview = `preview { action { type amount entries { direction amount balanceBefore balanceAfter } } }`;
    const dry = async (name: "authorizeHold" | "captureHold" | "releaseHold", input: Record<string, unknown>) => {
      const before = await api.snapshot();
      const input_ = { ...input, dryRun: true };
      const type = name.charAt(0).toUpperCase() + name.slice(1);
      const payload = (
        await api.data(
          `mutation ($input: ${type}Input!) { ${name}(input: $input) { hold { id } action { id } account { id } ${preview} userErrors { code } } }`,
          { input: input_ },
        )
      )[name];
      expect(await api.snapshot()).toBe(before);
      return payload;
    };
    const authorized = await dry("authorizeHold", { accountId: account, amount: "120" });
    expect(authorized).toMatchObject({ hold: null, action: null, account: null, userErrors: [] });
    expect(authorized.preview.action).toMatchObject({ type: "HOLD", amount: "120", entries: [] });
    expect(await sequenceOf(account)).toMatchObject({ held: "0" });

    const placed = await ok("authorizeHold", { accountId: account, amount: "120" });
    const captured = await dry("captureHold", { holdId: placed.hold.id, amount: "70" });
    expect(captured.preview.action).toMatchObject({
      type: "REDUCTION",
      amount: "70",
      entries: [{ direction: "DEBIT", amount: "70", balanceBefore: "300", balanceAfter: "230" }],
    });
    const released = await dry("releaseHold", { holdId: placed.hold.id });
    expect(released.preview.action).toMatchObject({ type: "HOLD_RELEASE", amount: "120", entries: [] });
    // Still pending, still holding: neither dry run closed it.
    expect(await sequenceOf(account)).toMatchObject({ balance: "300", held: "120" });
    // A refusal is the same as the real write's.
    const tooMuch = await dry("captureHold", { holdId: placed.hold.id, amount: "500" });
    expect(tooMuch.userErrors).toMatchObject([{ code: "CAPTURE_EXCEEDS_HOLD" }]);
  });
});

describe("credits that pending holds rely on", () => {
  const errors = "userErrors { code field message }";
  const others = {
    voidCreditGrant: `mutation ($input: VoidCreditGrantInput!) { voidCreditGrant(input: $input) { action { type } ${errors} } }`,
    changeCreditGrantExpiry: `mutation ($input: ChangeCreditGrantExpiryInput!) { changeCreditGrantExpiry(input: $input) { action { type } ${errors} } }`,
    updateCreditAccount: `mutation ($input: UpdateCreditAccountInput!) { updateCreditAccount(input: $input) { account { overdraftLimit available } ${errors} } }`,
  };
  type Other = keyof typeof others;

  async function other(name: Other, input: Record<string, unknown>, options: { language?: string } = {}) {
    return (await api.data(others[name], { input }, options))[name];
  }

  /** Asserts the refusal with CREDITS_HELD on this field, naming the held amount, and that nothing was written. */
  async function creditsHeld(name: Other, input: Record<string, unknown>, field: string, language = "en") {
    const before = await api.snapshot();
    const payload = await other(name, input, { language });
    expect(payload.userErrors).toHaveLength(1);
    expect(payload.userErrors[0]).toMatchObject({ code: "CREDITS_HELD", field: ["input", field] });
    expect(await api.snapshot()).toBe(before);
    return payload.userErrors[0].message as string;
  }

  async function grantOf(accountId: string, amount: string, expiresAt?: string) {
    const data = await api.data(
      `mutation ($input: DepositInput!) { deposit(input: $input) { action { grant { id } } userErrors { code } } }`,
      { input: { accountId, amount, ...(expiresAt ? { grant: { expiresAt } } : {}) } },
    );
    expect(data.deposit.userErrors).toEqual([]);
    return data.deposit.action.grant.id as string;
  }

  async function accountState(id: string) {
    return (
      await api.data(`query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance held available } } }`, { id })
    ).node;
  }

  it("refuses to void a grant a pending hold relies on (also on a dry run), and voids it once the hold is gone", async () => {
    const account = await fundedAccount("0");
    const grantId = await grantOf(account, "100");
    const placed = await ok("authorizeHold", { accountId: account, amount: "60" });
    const message = await creditsHeld("voidCreditGrant", { grantId }, "grantId");
    expect(message).toBe(
      "Pending holds reserve 60 CZK on the account; after this change its balance and overdraft would cover only 0 of them. Capture or release the holds first.",
    );
    const czech = await creditsHeld("voidCreditGrant", { grantId }, "grantId", "cs");
    expect(czech).toContain("drží na účtu 60 CZK");
    await creditsHeld("voidCreditGrant", { grantId, dryRun: true }, "grantId");
    expect(await accountState(account)).toEqual({ balance: "100", held: "60", available: "40" });
    await ok("releaseHold", { holdId: placed.hold.id });
    const voided = await other("voidCreditGrant", { grantId });
    expect(voided).toMatchObject({ action: { type: "VOID" }, userErrors: [] });
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });

  it("refuses a reversal that would take back credits a pending hold relies on, as a reduction (INSUFFICIENT_CREDITS)", async () => {
    const account = await fundedAccount("0");
    const deposited = await api.data(
      `mutation ($input: DepositInput!) { deposit(input: $input) { action { id } userErrors { code } } }`,
      { input: { accountId: account, amount: "100" } },
    );
    await ok("authorizeHold", { accountId: account, amount: "60" });
    const before = await api.snapshot();
    const reversed = await api.data(
      `mutation ($input: ReverseCreditActionInput!) { reverseCreditAction(input: $input) { action { id } userErrors { code field message } } }`,
      { input: { actionId: deposited.deposit.action.id } },
    );
    expect(reversed.reverseCreditAction.userErrors).toEqual([
      {
        code: "INSUFFICIENT_CREDITS",
        field: ["input", "actionId"],
        message: "The account has 40 CZK available; 100 were requested.",
      },
    ]);
    expect(await api.snapshot()).toBe(before);
  });

  it("voids a grant the holds do not need", async () => {
    const account = await fundedAccount("0");
    await grantOf(account, "100");
    const spare = await grantOf(account, "50");
    await ok("authorizeHold", { accountId: account, amount: "100" });
    const voided = await other("voidCreditGrant", { grantId: spare });
    expect(voided.userErrors).toEqual([]);
    expect(await accountState(account)).toEqual({ balance: "100", held: "100", available: "0" });
    // One unit more and the holds would not be covered.
    const other2 = await fundedAccount("0");
    await grantOf(other2, "100");
    const needed = await grantOf(other2, "50");
    await ok("authorizeHold", { accountId: other2, amount: "101" });
    const message = await creditsHeld("voidCreditGrant", { grantId: needed }, "grantId");
    expect(message).toContain("reserve 101 CZK");
    expect(message).toContain("cover only 100 of them");
  });

  it("refuses an expiry moved into the past (the grant would expire at once) but not a later one", async () => {
    const account = await fundedAccount("0");
    const grantId = await grantOf(account, "100");
    await ok("authorizeHold", { accountId: account, amount: "30" });
    const grantedAt = api.now().getTime();
    api.advance(60 * 60 * 1000);
    const message = await creditsHeld(
      "changeCreditGrantExpiry",
      { grantId, expiresAt: new Date(grantedAt + 60 * 1000).toISOString() },
      "expiresAt",
    );
    expect(message).toContain("reserve 30 CZK");
    await creditsHeld("changeCreditGrantExpiry", { grantId, expiresAt: api.now().toISOString() }, "expiresAt");
    const later = await other("changeCreditGrantExpiry", {
      grantId,
      expiresAt: new Date(api.now().getTime() + day).toISOString(),
    });
    expect(later).toMatchObject({ action: { type: "EXPIRATION_CHANGE" }, userErrors: [] });
    expect(await accountState(account)).toEqual({ balance: "100", held: "30", available: "70" });
  });

  it("refuses to lower the overdraft limit under what pending holds rely on, and lets it rise", async () => {
    const account = await fundedAccount("0", { overdraftLimit: "100" });
    await ok("authorizeHold", { accountId: account, amount: "80" });
    const message = await creditsHeld(
      "updateCreditAccount",
      { accountId: account, overdraftLimit: "79", name: "Renamed too" },
      "overdraftLimit",
    );
    expect(message).toContain("reserve 80 CZK");
    expect(message).toContain("cover only 79 of them");
    const lowered = await other("updateCreditAccount", { accountId: account, overdraftLimit: "80" });
    expect(lowered).toMatchObject({ account: { overdraftLimit: "80", available: "0" }, userErrors: [] });
    const raised = await other("updateCreditAccount", { accountId: account, overdraftLimit: "500" });
    expect(raised).toMatchObject({ account: { overdraftLimit: "500", available: "420" }, userErrors: [] });
    // Without holds a lower limit than the debt stays allowed: it only stops further overdrawing.
    const free = await fundedAccount("0", { overdraftLimit: "100" });
    const freed = await other("updateCreditAccount", { accountId: free, overdraftLimit: "0" });
    expect(freed.userErrors).toEqual([]);
  });

  it("lets a grant lapse at its own expiry under a hold; the capture then takes at most what is covered", async () => {
    const account = await fundedAccount("0", { overdraftLimit: "20" });
    await grantOf(account, "100", new Date(api.now().getTime() + day).toISOString());
    await grantOf(account, "30");
    const placed = await ok("authorizeHold", { accountId: account, amount: "120" });
    api.advance(day);
    // The expiry is recorded (it cannot be refused): the hold now reserves more than balance and overdraft cover.
    expect(await accountState(account)).toEqual({ balance: "30", held: "120", available: "0" });
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
    const whole = await refused("captureHold", { holdId: placed.hold.id }, "INSUFFICIENT_CREDITS", ["input", "amount"]);
    expect(whole.message).toBe("The account has 50 CZK available; 120 were requested.");
    await refused("captureHold", { holdId: placed.hold.id, amount: "51" }, "INSUFFICIENT_CREDITS", ["input", "amount"]);
    const captured = await ok("captureHold", { holdId: placed.hold.id, amount: "50" });
    // The 30 left and 20 of overdraft, no further: the limit holds and no credit was created.
    expect(captured).toMatchObject({
      hold: { state: "CAPTURED", capturedAmount: "50", releasedAmount: "70" },
      account: { balance: "-20", held: "0", available: "0" },
    });
    expect(await api.ledger.verify({ tenantId: api.tenantId })).toEqual([]);
  });
});

describe("paging an account's holds and grants", () => {
  const holdsPage = `query ($id: ID!, $state: CreditHoldState, $first: Int, $after: String, $last: Int, $before: String) {
    node(id: $id) { ... on CreditAccount {
      holds(state: $state, first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { id } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    } } }`;
  const grantsPage = `query ($id: ID!, $state: CreditGrantState, $first: Int, $after: String, $last: Int, $before: String) {
    node(id: $id) { ... on CreditAccount {
      grants(state: $state, first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { id } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    } } }`;

  async function page(query: string, variables: Record<string, unknown>) {
    const node = (await api.data(query, variables)).node;
    const connection = node.holds ?? node.grants;
    return { ids: connection.edges.map((edge: any) => edge.node.id as string), pageInfo: connection.pageInfo };
  }

  it("pages holds by position, neither repeating nor skipping one when holds are placed or released between pages", async () => {
    const account = await fundedAccount("1000");
    const placed: string[] = [];
    for (let index = 0; index < 5; index++) {
      placed.push((await ok("authorizeHold", { accountId: account, amount: "10" })).hold.id);
    }
    const [h1, h2, h3, h4, h5] = placed as [string, string, string, string, string];
    const first = await page(holdsPage, { id: account, state: "PENDING", first: 2 });
    expect(first.ids).toEqual([h5, h4]);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    // Between the pages the first page's holds leave PENDING and a new hold is placed: counted by offset, the
    // next page would start two past the new list's start and skip h3 and h2.
    await ok("releaseHold", { holdId: h5 });
    await ok("captureHold", { holdId: h4 });
    const h6 = (await ok("authorizeHold", { accountId: account, amount: "10" })).hold.id;
    const second = await page(holdsPage, { id: account, state: "PENDING", first: 2, after: first.pageInfo.endCursor });
    expect(second.ids).toEqual([h3, h2]);
    expect(second.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const third = await page(holdsPage, { id: account, state: "PENDING", first: 2, after: second.pageInfo.endCursor });
    expect(third.ids).toEqual([h1]);
    expect(third.pageInfo.hasNextPage).toBe(false);
    // Backward from the end of the second page: what precedes it in the list now, the new hold included.
    const back = await page(holdsPage, { id: account, state: "PENDING", last: 5, before: second.pageInfo.startCursor });
    expect(back.ids).toEqual([h6]);
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    // A cursor stays valid when its own hold has left the filtered list.
    const all = await page(holdsPage, { id: account, first: 10 });
    expect(all.ids).toEqual([h6, h5, h4, h3, h2, h1]);
    const atReleased = (await page(holdsPage, { id: account, first: 2 })).pageInfo.endCursor;
    const fromReleased = await page(holdsPage, { id: account, state: "PENDING", first: 10, after: atReleased });
    expect(fromReleased.ids).toEqual([h3, h2, h1]);
  });

  it("pages grants by position too, while grants are added", async () => {
    const account = await fundedAccount("0");
    const grants: string[] = [];
    for (const amount of ["1", "2", "3"]) {
      const data = await api.data(
        `mutation ($input: DepositInput!) { deposit(input: $input) { action { grant { id } } } }`,
        { input: { accountId: account, amount } },
      );
      grants.push(data.deposit.action.grant.id);
    }
    const first = await page(grantsPage, { id: account, first: 2 });
    expect(first.ids).toEqual(grants.slice(0, 2));
    await ok("deposit", { accountId: account, amount: "4" });
    const second = await page(grantsPage, { id: account, first: 2, after: first.pageInfo.endCursor });
    expect(second.ids.slice(0, 1)).toEqual([grants[2]]);
    expect(second.ids).toHaveLength(2);
    const back = await page(grantsPage, { id: account, last: 1, before: second.pageInfo.startCursor });
    expect(back.ids).toEqual([grants[1]]);
  });

  it("refuses a cursor it did not make with INVALID_CURSOR, and paging arguments that do not fit with INVALID_PAGINATION", async () => {
    const account = await fundedAccount("100");
    await ok("authorizeHold", { accountId: account, amount: "10" });
    const grantCursor = (await page(grantsPage, { id: account, first: 1 })).pageInfo.endCursor;
    const holdCursor = (await page(holdsPage, { id: account, first: 1 })).pageInfo.endCursor;
    const forge = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString("base64url");
    const forged = [
      "not a cursor",
      "",
      Buffer.from("arrayconnection:0").toString("base64"),
      forge(["holds", "2026-03-01T10:00:00.000Z", "' OR 1=1 --"]),
      forge(["holds", "2026-02-30T10:00:00.000Z", "01900000-0000-7000-8000-000000000000"]),
      forge(["holds", "2026-03-01T10:00:00Z", "01900000-0000-7000-8000-000000000000"]),
      forge({ list: "holds" }),
      "x".repeat(10_000),
    ];
    for (const [query, cursors] of [
      [holdsPage, [...forged, grantCursor]],
      [grantsPage, [...forged, holdCursor]],
    ] as const) {
      for (const cursor of cursors) {
        for (const variables of [
          { first: 1, after: cursor },
          { last: 1, before: cursor },
        ]) {
          const body = await api.graphql(query, { id: account, ...variables });
          expect(body.errors?.[0]?.extensions?.code, cursor).toBe("INVALID_CURSOR");
          expect(body.errors?.[0]?.message).toMatch(/cursor in (after|before) is not valid for this list/);
        }
      }
      for (const variables of [
        { first: 1, last: 1 },
        { first: 1, before: holdCursor },
        { last: 1, after: holdCursor },
      ]) {
        const body = await api.graphql(query, { id: account, ...variables });
        expect(body.errors?.[0]?.extensions?.code).toBe("INVALID_PAGINATION");
      }
      const tooMany = await api.graphql(query, { id: account, first: 101 });
      expect(tooMany.errors?.[0]?.extensions?.code).toBe("PAGE_SIZE_OUT_OF_RANGE");
    }
  });
});
