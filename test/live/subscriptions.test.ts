// Live balances on one gateway: subscriptions over Server-Sent Events deliver one event per committed entry,
// with the account's new balance and the entry's sequence number, only to the account's own tenant; refused
// and replayed writes publish nothing; wrong arguments, missing scopes and too many subscriptions are refused
// with stable codes and write nothing; a revoked key's stream ends.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, revokeApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import { startHttpServer } from "../../src/server/http.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createApiFixture, type ApiFixture } from "../support/api.ts";
import { dataThrough, type EventStream, openEventStream, waitFor } from "../support/live.ts";

let fixture: ApiFixture;
let customer: string;
let account: string;
let other: string;
const streams: EventStream[] = [];

beforeAll(async () => {
  fixture = await createApiFixture();
  customer = await fixture.createCustomer("CUST-LIVE");
  account = await fixture.openAccount(customer, { name: "Points" });
  other = await fixture.openAccount(customer, { name: "Other points" });
});

afterEach(async () => {
  await Promise.all(streams.splice(0).map((stream) => stream.close()));
});

afterAll(async () => {
  await fixture?.drop();
});

const eventFields =
  "sequence balance account { id balance } action { id type amount } entry { direction amount balanceBefore balanceAfter sequence }";
const accountSubscription = `subscription ($accountId: ID!) { accountBalanceChanged(accountId: $accountId) { ${eventFields} } }`;
const customerSubscription = `subscription ($customerId: ID!) { customerActivity(customerId: $customerId) { ${eventFields} } }`;
const payload = "action { id } userErrors { code field message }";
const deposit = `mutation ($input: DepositInput!) { deposit(input: $input) { ${payload} } }`;
const reduce = `mutation ($input: ReduceInput!) { reduce(input: $input) { ${payload} } }`;
const transfer = `mutation ($input: TransferInput!) { transfer(input: $input) { ${payload} } }`;

async function subscribe(
  query: string,
  variables: Record<string, unknown>,
  options: { gateway?: Gateway; key?: string | null; headers?: Record<string, string> } = {},
): Promise<EventStream> {
  const gateway = options.gateway ?? fixture.gateway;
  const before = gateway.live.listening;
  const stream = await openEventStream(
    gateway,
    query,
    variables,
    options.key === undefined ? fixture.key : options.key,
    options.headers,
  );
  streams.push(stream);
  if (stream.contentType?.startsWith("text/event-stream") && stream.status === 200) {
    // A refused subscription answers one event and ends; an admitted one listens from now on.
    await Promise.race([waitFor(() => gateway.live.listening > before, "the subscription to listen"), stream.ended]);
  }
  return stream;
}

async function balanceOf(accountId: string): Promise<string> {
  const data = await fixture.data("query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance } } }", {
    id: accountId,
  });
  return data.node.balance;
}

describe("accountBalanceChanged", () => {
  it("delivers each committed write's entry with the new balance and the next sequence number", async () => {
    const stream = await subscribe(accountSubscription, { accountId: account });
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);

    const first = (await fixture.data(deposit, { input: { accountId: account, amount: "500" } })).deposit;
    const second = (await fixture.data(reduce, { input: { accountId: account, amount: "200" } })).reduce;

    const one = await stream.next();
    expect(one.errors).toBeUndefined();
    expect(one.data?.accountBalanceChanged).toMatchObject({
      sequence: 1,
      balance: "500",
      action: { id: first.action.id, type: "DEPOSIT", amount: "500" },
      entry: { direction: "CREDIT", amount: "500", balanceBefore: "0", balanceAfter: "500", sequence: 1 },
    });
    const two = await stream.next();
    expect(two.data?.accountBalanceChanged).toMatchObject({
      sequence: 2,
      balance: "300",
      // The account is read afresh for every event, not served from the first event's loaders.
      account: { id: account, balance: "300" },
      action: { id: second.action.id, type: "REDUCTION", amount: "200" },
      entry: { direction: "DEBIT", amount: "200", balanceBefore: "500", balanceAfter: "300", sequence: 2 },
    });
  });

  it("publishes nothing for a refused write or an idempotent replay", async () => {
    const stream = await subscribe(accountSubscription, { accountId: account });
    const balance = await balanceOf(account);

    const refused = (await fixture.data(reduce, { input: { accountId: account, amount: "999999" } })).reduce;
    expect(refused.userErrors).toMatchObject([{ code: "INSUFFICIENT_CREDITS" }]);
    const original = (
      await fixture.data(deposit, { input: { accountId: account, amount: "10", idempotencyKey: "live-replay" } })
    ).deposit;
    const replay = (
      await fixture.data(deposit, { input: { accountId: account, amount: "10", idempotencyKey: "live-replay" } })
    ).deposit;
    expect(replay.action.id).toBe(original.action.id);
    const marker = (await fixture.data(deposit, { input: { accountId: account, amount: "1" } })).deposit;

    // Exactly the two stored writes arrive, one after the other: nothing for the refusal or the replay.
    const events = [await stream.next(), await stream.next()].map((event) => event.data?.accountBalanceChanged);
    expect(events.map((event) => event.action.id)).toEqual([original.action.id, marker.action.id]);
    expect(events[1].sequence).toBe(events[0].sequence + 1);
    expect(events[1].balance).toBe(String(BigInt(balance) + 11n));
    expect(stream.pending()).toEqual([]);
  });

  it("publishes nothing for a dry run, and an expiry change's entry with its sequence number", async () => {
    const stream = await subscribe(accountSubscription, { accountId: account });
    const grantId = (
      await fixture.data(
        `mutation ($input: DepositInput!) { deposit(input: $input) { action { id grant { id } } userErrors { code } } }`,
        { input: { accountId: account, amount: "30", grant: { expiresAt: "2031-01-01T00:00:00Z" } } },
      )
    ).deposit.action.grant.id;
    const deposited = (await stream.next()).data?.accountBalanceChanged;

    // A dry run really runs the write and rolls it back: nothing was committed, so nothing is published.
    const dry = (await fixture.data(reduce, { input: { accountId: account, amount: "5", dryRun: true } })).reduce;
    expect(dry.userErrors).toEqual([]);
    const changed = (
      await fixture.data(
        `mutation ($input: ChangeCreditGrantExpiryInput!) { changeCreditGrantExpiry(input: $input) { ${payload} } }`,
        { input: { grantId, expiresAt: "2032-01-01T00:00:00Z" } },
      )
    ).changeCreditGrantExpiry;
    expect(changed.userErrors).toEqual([]);

    // The next event is the expiry change's (amount 0, the balance as it was), numbered right after the
    // deposit: no event for the dry run, and no gap for the change.
    const next = (await stream.next()).data?.accountBalanceChanged;
    expect(next).toMatchObject({
      sequence: deposited.sequence + 1,
      balance: deposited.balance,
      action: { id: changed.action.id, type: "EXPIRATION_CHANGE" },
      entry: { amount: "0", sequence: deposited.sequence + 1 },
    });
    expect(stream.pending()).toEqual([]);
  });

  it("never delivers another tenant's entries, and treats its accounts as unknown", async () => {
    const foreign = await fixture.createTenant("Foreign tenant");
    const foreignCustomer = await fixture.createCustomer("CUST-FOREIGN", { key: foreign.key });
    const foreignAccount = await fixture.openAccount(foreignCustomer, { key: foreign.key });
    const stream = await subscribe(accountSubscription, { accountId: account });
    const foreignStream = await subscribe(accountSubscription, { accountId: foreignAccount }, { key: foreign.key });

    // The foreign tenant writes on its own account; ours writes on ours.
    await fixture.data(deposit, { input: { accountId: foreignAccount, amount: "70" } }, { key: foreign.key });
    const ours = (await fixture.data(deposit, { input: { accountId: account, amount: "3" } })).deposit;

    expect((await stream.next()).data?.accountBalanceChanged.action.id).toBe(ours.action.id);
    expect((await foreignStream.next()).data?.accountBalanceChanged).toMatchObject({ sequence: 1, balance: "70" });
    expect(stream.pending()).toEqual([]);
    expect(foreignStream.pending()).toEqual([]);

    // Our key cannot listen to the foreign account: it is refused like an id that does not exist.
    const before = await fixture.snapshot();
    const refused = await subscribe(accountSubscription, { accountId: foreignAccount });
    const answer = await refused.next();
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "ACCOUNT_NOT_FOUND", field: "accountId" });
    expect(answer.errors?.[0]?.message).toBe("No credit account with this id exists.");
    await refused.ended;
    expect(await fixture.snapshot()).toBe(before);
  });

  it("refuses a malformed or unknown account id with a stable code and a message", async () => {
    const before = await fixture.snapshot();
    const malformed = await (await subscribe(accountSubscription, { accountId: "not-an-id" })).next();
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: "INVALID_ID", field: "accountId" });
    expect(malformed.errors?.[0]?.message).toBe("The ID is not a valid global ID of a CreditAccount.");
    // A customer's ID is a valid global ID, but not of a credit account.
    const wrongType = await (await subscribe(accountSubscription, { accountId: customer })).next();
    expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: "INVALID_ID", field: "accountId" });
    expect(wrongType.errors?.[0]?.message).toBe(
      "This is the global ID of a Customer, not of a CreditAccount; send the ID of a CreditAccount.",
    );
    const czech = await (
      await subscribe(accountSubscription, { accountId: "not-an-id" }, { headers: { "accept-language": "cs" } })
    ).next();
    expect(czech.errors?.[0]?.extensions?.code).toBe("INVALID_ID");
    expect(czech.errors?.[0]?.message).not.toBe(malformed.errors?.[0]?.message);
    expect(await fixture.snapshot()).toBe(before);
  });

  it("needs a valid key with the read scope", async () => {
    const before = await fixture.snapshot();
    const anonymous = await subscribe(accountSubscription, { accountId: account }, { key: null });
    expect(anonymous.status).toBe(401);
    const writeOnly = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "write only",
      scopes: ["write"],
    });
    const forbidden = await subscribe(accountSubscription, { accountId: account }, { key: writeOnly.secret });
    expect((await forbidden.next()).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await fixture.snapshot()).toBe(before);
  });
});

describe("customerActivity", () => {
  it("delivers the entries of every account of the customer, a transfer as two events", async () => {
    const stream = await subscribe(customerSubscription, { customerId: customer });
    await fixture.data(deposit, { input: { accountId: account, amount: "40" } });
    const moved = (
      await fixture.data(transfer, { input: { sourceAccountId: account, targetAccountId: other, amount: "25" } })
    ).transfer;
    const events = [await stream.next(), await stream.next(), await stream.next()].map(
      (event) => event.data?.customerActivity,
    );
    expect(events[0]).toMatchObject({ action: { type: "DEPOSIT" }, account: { id: account } });
    const transferEvents = events.slice(1);
    expect(transferEvents.map((event) => event.action.id)).toEqual([moved.action.id, moved.action.id]);
    expect(new Set(transferEvents.map((event) => event.account.id))).toEqual(new Set([account, other]));
    expect(transferEvents.find((event) => event.account.id === other)).toMatchObject({
      sequence: 1,
      balance: "25",
      entry: { direction: "CREDIT" },
    });
  });

  it("refuses a malformed or unknown customer id", async () => {
    const malformed = await (await subscribe(customerSubscription, { customerId: account })).next();
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: "INVALID_ID", field: "customerId" });
    expect(malformed.errors?.[0]?.message).toBe(
      "This is the global ID of a CreditAccount, not of a Customer; send the ID of a Customer.",
    );
    const foreign = await fixture.createTenant("Another foreign tenant");
    const foreignCustomer = await fixture.createCustomer("CUST-ELSEWHERE", { key: foreign.key });
    const unknown = await (await subscribe(customerSubscription, { customerId: foreignCustomer })).next();
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: "CUSTOMER_NOT_FOUND", field: "customerId" });
  });
});

describe("subscription limits", () => {
  it("refuse a subscription beyond the per-key and per-instance limits with TOO_MANY_SUBSCRIPTIONS", async () => {
    const gateway = createGateway({
      database: fixture.database,
      ledger: fixture.ledger,
      config: { ...loadConfig({ LOG_LEVEL: "silent" }), maxSubscriptions: 3, maxSubscriptionsPerKey: 2 },
    });
    try {
      const first = await subscribe(accountSubscription, { accountId: account }, { gateway });
      await subscribe(accountSubscription, { accountId: other }, { gateway });
      const third = await subscribe(accountSubscription, { accountId: account }, { gateway });
      const refusal = await third.next();
      expect(refusal.errors?.[0]?.extensions).toMatchObject({ code: "TOO_MANY_SUBSCRIPTIONS", scope: "key", limit: 2 });
      expect(refusal.errors?.[0]?.message).toMatch(/close one first/);
      const czech = await (
        await subscribe(accountSubscription, { accountId: account }, { gateway, headers: { "accept-language": "cs" } })
      ).next();
      expect(czech.errors?.[0]?.message).toMatch(/^Tento klíč API/);

      // Another key of the tenant may still open one, up to the instance's limit.
      const second = await createApiKey(fixture.database, { tenantId: fixture.tenantId, name: "2", scopes: ["read"] });
      await subscribe(accountSubscription, { accountId: account }, { gateway, key: second.secret });
      const overInstance = await (
        await subscribe(accountSubscription, { accountId: account }, { gateway, key: second.secret })
      ).next();
      expect(overInstance.errors?.[0]?.extensions).toMatchObject({ code: "TOO_MANY_SUBSCRIPTIONS", scope: "instance" });

      // A closed stream gives its place back.
      await first.close();
      await waitFor(() => gateway.live.open === 2, "the closed stream's place to be released");
      const again = await subscribe(accountSubscription, { accountId: account }, { gateway });
      await dataThrough(gateway, fixture.key, deposit, { input: { accountId: account, amount: "2" } });
      expect((await again.next()).data?.accountBalanceChanged.action.type).toBe("DEPOSIT");
    } finally {
      await Promise.all(streams.splice(0).map((stream) => stream.close()));
      await gateway.dispose();
    }
  });
});

describe("a revoked key", () => {
  it("ends its stream with UNAUTHENTICATED", async () => {
    const gateway = createGateway({
      database: fixture.database,
      ledger: fixture.ledger,
      config: loadConfig({ LOG_LEVEL: "silent" }),
      // Rechecked every 50 ms instead of 5 s, so that the test does not wait.
      liveKeyCheckMs: 50,
    });
    try {
      const reader = await createApiKey(fixture.database, { tenantId: fixture.tenantId, name: "r", scopes: ["read"] });
      const stream = await subscribe(accountSubscription, { accountId: account }, { gateway, key: reader.secret });
      await dataThrough(gateway, fixture.key, deposit, { input: { accountId: account, amount: "5" } });
      expect((await stream.next()).data?.accountBalanceChanged.action.type).toBe("DEPOSIT");

      const revoked = await revokeApiKey(fixture.database, reader.apiKey.id, fixture.now());
      expect(revoked.outcome).toBe("revoked");
      const last = await stream.next();
      expect(last.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      await stream.ended;
      await waitFor(() => gateway.live.open === 0, "the revoked stream's place to be released");
    } finally {
      await Promise.all(streams.splice(0).map((stream) => stream.close()));
      await gateway.dispose();
    }
  });
});

describe("the query limits", () => {
  it("apply to a subscription's document when it opens", async () => {
    const gateway = createGateway({
      database: fixture.database,
      ledger: fixture.ledger,
      config: { ...loadConfig({ LOG_LEVEL: "silent" }), maxQueryCost: 20 },
    });
    try {
      const costly = await subscribe(
        `subscription ($accountId: ID!) { accountBalanceChanged(accountId: $accountId) {
          account { history(first: 100) { edges { node { id amount } } } } } }`,
        { accountId: account },
        { gateway },
      );
      const refusal = await costly.next();
      expect(refusal.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COSTLY");
      await costly.ended;
      expect(gateway.live.open).toBe(0);
    } finally {
      await Promise.all(streams.splice(0).map((stream) => stream.close()));
      await gateway.dispose();
    }
  });
});

describe("a graceful shutdown", () => {
  it("ends open streams at once instead of waiting for them", async () => {
    const gateway = createGateway({
      database: fixture.database,
      ledger: fixture.ledger,
      config: loadConfig({ LOG_LEVEL: "silent" }),
    });
    const running = await startHttpServer(
      gateway,
      { port: 0, host: "127.0.0.1", shutdownTimeoutMs: 30_000 },
      { signals: [] },
    );
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${running.port}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        authorization: `Bearer ${fixture.key}`,
      },
      body: JSON.stringify({ query: accountSubscription, variables: { accountId: account } }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const body = response.text();
    await waitFor(() => gateway.live.listening === 1, "the subscription to listen");
    const { forcedConnections } = await running.shutdown("test");
    expect(forcedConnections).toBe(0);
    // The stream was completed by the server, not cut off.
    expect(await body).toMatch(/event: complete/);
  });
});

describe("a batch", () => {
  it("publishes each item's entries after the batch commits, and nothing when it is refused", async () => {
    const stream = await subscribe(customerSubscription, { customerId: customer });
    const batch = `mutation ($input: ApplyCreditBatchInput!) { applyCreditBatch(input: $input) {
      batch { actions { id } } userErrors { code } } }`;
    const refused = (
      await fixture.data(batch, {
        input: {
          items: [
            { deposit: { accountId: account, amount: "40" } },
            { reduce: { accountId: other, amount: "999999999" } },
          ],
        },
      })
    ).applyCreditBatch;
    expect(refused.userErrors).toMatchObject([{ code: "INSUFFICIENT_CREDITS" }]);
    const written = (
      await fixture.data(batch, {
        input: {
          items: [
            { deposit: { accountId: account, amount: "40" } },
            { transfer: { sourceAccountId: account, targetAccountId: other, amount: "15" } },
          ],
        },
      })
    ).applyCreditBatch;
    expect(written.userErrors).toEqual([]);
    const [depositId, transferId] = written.batch.actions.map((action: { id: string }) => action.id);
    // The deposit's entry and the transfer's two, and nothing of the refused batch (it came first).
    const events = [await stream.next(), await stream.next(), await stream.next()].map(
      (event) => event.data?.customerActivity,
    );
    expect(events.map((event) => [event.action.id, event.entry.direction, event.entry.amount]).sort()).toEqual(
      [
        [depositId, "CREDIT", "40"],
        [transferId, "CREDIT", "15"],
        [transferId, "DEBIT", "15"],
      ].sort(),
    );
    expect(stream.pending()).toEqual([]);
  });
});
