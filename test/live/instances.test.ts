// Live balances across gateway instances: two gateways, each with its own database connections, its own
// API-key cache and its own transport connection, as two processes would have, share events through a real
// Redis (REDIS_URL) and, on PostgreSQL without Redis, through LISTEN/NOTIFY. A subscriber on instance A sees
// a write made through instance B; it sees nothing of another tenant or of a refused write; entries written
// concurrently through both instances arrive with every sequence number exactly once; a client that dropped
// its stream catches up from the last sequence it saw; a key revoked through B loses its stream on A within
// the documented bound.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyCacheMs, createApiKey, revokeApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import { type Database, openDatabase } from "../../src/db/client.ts";
import { createLedger } from "../../src/ledger/index.ts";
import { decodeId } from "../../src/schema/ids.ts";
import { createLiveTransport, type LiveTransport } from "../../src/server/live/index.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase, testEngine } from "../support/database.ts";
import { dataThrough, type EventStream, openEventStream, waitFor } from "../support/live.ts";

const redisUrl = process.env.TEST_REDIS_URL || null;
if (!redisUrl) {
  console.warn(
    "\n!!! Live events over Redis SKIPPED: TEST_REDIS_URL is not set (npm test sets it when redis-server is installed).\n",
  );
}

const config = loadConfig({ LOG_LEVEL: "silent" });
const eventFields = "sequence balance account { id } action { id type amount }";
const accountSubscription = `subscription ($accountId: ID!) { accountBalanceChanged(accountId: $accountId) { ${eventFields} } }`;
const deposit =
  "mutation ($input: DepositInput!) { deposit(input: $input) { action { id } userErrors { code field message } } }";
const reduce =
  "mutation ($input: ReduceInput!) { reduce(input: $input) { action { id } userErrors { code field message } } }";

let testDatabase: TestDatabase;
/** Instance B's own connections to the same database. */
let databaseB: Database;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  databaseB = await openDatabase(testDatabase.url);
});

afterAll(async () => {
  await databaseB?.close();
  await testDatabase?.drop();
});

interface Tenant {
  tenantId: string;
  key: string;
  apiKeyId: string;
  account: string;
}

async function createTenant(name: string): Promise<Tenant> {
  const ledger = createLedger(testDatabase.database);
  const created = await ledger.createTenant({ name, timeZone: "Europe/Prague", defaultLocale: "en" });
  if (!created.ok) throw new Error(created.error.message);
  const { apiKey, secret } = await createApiKey(testDatabase.database, {
    tenantId: created.tenant.id,
    name: `${name} key`,
    scopes: ["read", "write"],
  });
  return { tenantId: created.tenant.id, key: secret, apiKeyId: apiKey.id, account: "" };
}

async function openAccount(gateway: Gateway, tenant: Tenant, externalId: string): Promise<string> {
  const customer = await dataThrough(
    gateway,
    tenant.key,
    "mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }",
    { input: { externalId, name: externalId } },
  );
  const account = await dataThrough(
    gateway,
    tenant.key,
    "mutation ($input: OpenCreditAccountInput!) { openCreditAccount(input: $input) { account { id } } }",
    { input: { customerId: customer.createCustomer.customer.id, currency: "PTS", name: "Points" } },
  );
  return account.openCreditAccount.account.id;
}

interface TransportCase {
  name: string;
  enabled: boolean;
  create(): LiveTransport;
  /** Resolves once the transport itself delivers to the subscription on this topic (after it listens locally). */
  subscribed(tenantId: string, accountId: string): Promise<void>;
}

const transports: TransportCase[] = [
  {
    name: "Redis pub/sub",
    enabled: redisUrl !== null,
    create: () => createLiveTransport({ redisUrl, postgresUrl: null, warn: console.warn }),
    // Yoga's Redis event target sends SUBSCRIBE without waiting for it; Redis says when it is in place.
    async subscribed(tenantId, accountId) {
      const redis = new Redis(redisUrl as string);
      try {
        const channel = `accountEntries:${tenantId}:${accountId}`;
        await waitFor(async () => {
          const [, count] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
          return Number(count) > 0;
        }, "Redis to subscribe the channel");
      } finally {
        redis.disconnect();
      }
    },
  },
  {
    name: "PostgreSQL LISTEN/NOTIFY",
    enabled: testEngine === "postgres",
    create: () => createLiveTransport({ redisUrl: null, postgresUrl: testDatabase.url, warn: console.warn }),
    // The instance's LISTEN is in place once its transport is ready; the topic is local from then on.
    async subscribed() {},
  },
];

for (const transport of transports) {
  describe.skipIf(!transport.enabled)(`two instances over ${transport.name}`, () => {
    let gatewayA: Gateway;
    let gatewayB: Gateway;
    const liveTransports: LiveTransport[] = [];
    const streams: EventStream[] = [];
    let tenant: Tenant;

    beforeAll(async () => {
      const [transportA, transportB] = [transport.create(), transport.create()] as [LiveTransport, LiveTransport];
      liveTransports.push(transportA, transportB);
      expect(await transportA.ready(5_000)).toBe(true);
      expect(await transportB.ready(5_000)).toBe(true);
      gatewayA = createGateway({ database: testDatabase.database, config, liveTransport: transportA });
      gatewayB = createGateway({ database: databaseB, config, liveTransport: transportB });
      tenant = await createTenant(`Tenant over ${transport.name}`);
      tenant.account = await openAccount(gatewayA, tenant, "CUST-1");
    });

    afterAll(async () => {
      await Promise.all(streams.map((stream) => stream.close()));
      await gatewayA?.dispose();
      await gatewayB?.dispose();
      await Promise.all(liveTransports.map((live) => live.close()));
    });

    async function subscribeOnA(accountId: string, key = tenant.key): Promise<EventStream> {
      const before = gatewayA.live.listening;
      const stream = await openEventStream(gatewayA, accountSubscription, { accountId }, key);
      streams.push(stream);
      expect(stream.status).toBe(200);
      await waitFor(() => gatewayA.live.listening > before, "the subscription to listen");
      await transport.subscribed(tenant.tenantId, decodeId(accountId, "CreditAccount") as string);
      return stream;
    }

    it("a subscriber on A sees a write made through B within a second", async () => {
      const stream = await subscribeOnA(tenant.account);
      const sentAt = performance.now();
      const written = await dataThrough(gatewayB, tenant.key, deposit, {
        input: { accountId: tenant.account, amount: "100" },
      });
      const answeredAt = performance.now();
      const event = await stream.next(1_000);
      const receivedAt = performance.now();
      console.info(
        `${transport.name}: event on A ${(receivedAt - answeredAt).toFixed(1)} ms after B answered the write ` +
          `(${(receivedAt - sentAt).toFixed(1)} ms after it was sent)`,
      );
      expect(event.data?.accountBalanceChanged).toEqual({
        sequence: 1,
        balance: "100",
        account: { id: tenant.account },
        action: { id: written.deposit.action.id, type: "DEPOSIT", amount: "100" },
      });
      await stream.close();
    });

    it("sees nothing of another tenant's writes or of a refused write", async () => {
      const foreign = await createTenant(`Foreign over ${transport.name}`);
      foreign.account = await openAccount(gatewayB, foreign, "CUST-F");
      const stream = await subscribeOnA(tenant.account);
      const balanceBefore = (
        await dataThrough(
          gatewayA,
          tenant.key,
          "query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance } } }",
          {
            id: tenant.account,
          },
        )
      ).node.balance;

      await dataThrough(gatewayB, foreign.key, deposit, { input: { accountId: foreign.account, amount: "9" } });
      const refused = await dataThrough(gatewayB, tenant.key, reduce, {
        input: { accountId: tenant.account, amount: "1000000" },
      });
      expect(refused.reduce.userErrors).toMatchObject([{ code: "INSUFFICIENT_CREDITS" }]);
      // The foreign tenant's key cannot even name our account through B.
      const foreignWrite = await dataThrough(gatewayB, foreign.key, deposit, {
        input: { accountId: tenant.account, amount: "5" },
      });
      expect(foreignWrite.deposit.userErrors).toMatchObject([{ code: "ACCOUNT_NOT_FOUND" }]);
      const marker = await dataThrough(gatewayB, tenant.key, deposit, {
        input: { accountId: tenant.account, amount: "1" },
      });

      const event = (await stream.next()).data?.accountBalanceChanged;
      expect(event.action.id).toBe(marker.deposit.action.id);
      expect(event.balance).toBe(String(BigInt(balanceBefore) + 1n));
      expect(stream.pending()).toEqual([]);
      await stream.close();
    });

    it("delivers every sequence number exactly once under concurrent writes through both instances", async () => {
      const account = await openAccount(gatewayA, tenant, "CUST-CONCURRENT");
      const stream = await subscribeOnA(account);
      const writes = Array.from({ length: 24 }, (_, index) => index + 1);
      const results = await Promise.all(
        writes.map((amount) =>
          dataThrough(amount % 2 ? gatewayA : gatewayB, tenant.key, deposit, {
            input: { accountId: account, amount: String(amount) },
          }),
        ),
      );
      expect(results.every((result) => result.deposit.userErrors.length === 0)).toBe(true);

      const events = [];
      for (const _ of writes) events.push((await stream.next()).data?.accountBalanceChanged);
      // Writes committed at once may be published in another order than they were numbered; by sequence
      // they are 1..24, each once, and each balance follows from the previous one by the action's amount.
      const bySequence = [...events].sort((a, b) => a.sequence - b.sequence);
      expect(bySequence.map((event) => event.sequence)).toEqual(writes);
      let balance = 0n;
      for (const event of bySequence) {
        balance += BigInt(event.action.amount);
        expect(event.balance).toBe(String(balance));
      }
      expect(balance).toBe(BigInt((24 * 25) / 2));
      expect(new Set(events.map((event) => event.action.id)).size).toBe(24);
      expect(stream.pending()).toEqual([]);
      await stream.close();
    });

    it("lets a client that dropped its stream catch up from the last sequence it saw", async () => {
      const account = await openAccount(gatewayA, tenant, "CUST-RESUME");
      const first = await subscribeOnA(account);
      for (const amount of ["10", "20"])
        await dataThrough(gatewayB, tenant.key, deposit, { input: { accountId: account, amount } });
      await first.next();
      const lastSeen = (await first.next()).data?.accountBalanceChanged.sequence;
      expect(lastSeen).toBe(2);
      await first.close();
      await waitFor(() => gatewayA.live.open === 0, "the dropped stream to close");

      // Written while the client is away: no stream hears them.
      for (const amount of ["30", "40", "50"])
        await dataThrough(gatewayB, tenant.key, deposit, { input: { accountId: account, amount } });

      // The client reconnects: subscribes first (so nothing written from now on is missed), then reads the
      // history after the last sequence it saw, in recording order.
      const second = await subscribeOnA(account);
      const history = await dataThrough(
        gatewayA,
        tenant.key,
        `query ($id: ID!) { node(id: $id) { ... on CreditAccount {
          history(first: 100, orderBy: { field: ID, direction: ASC }) { edges { sequence balanceAfter node { amount } } }
        } } }`,
        { id: account },
      );
      const missed = history.node.history.edges.filter((edge: { sequence: number }) => edge.sequence > lastSeen);
      expect(missed).toEqual([
        { sequence: 3, balanceAfter: "60", node: { amount: "30" } },
        { sequence: 4, balanceAfter: "100", node: { amount: "40" } },
        { sequence: 5, balanceAfter: "150", node: { amount: "50" } },
      ]);
      const caughtUp = Math.max(lastSeen, ...missed.map((edge: { sequence: number }) => edge.sequence));
      await dataThrough(gatewayB, tenant.key, deposit, { input: { accountId: account, amount: "60" } });
      // Events are sent after the commit without the write waiting for them, so an event of a write made
      // before the new subscription may still arrive on it: the client skips what it already has.
      let next = (await second.next()).data?.accountBalanceChanged;
      while (next.sequence <= caughtUp) next = (await second.next()).data?.accountBalanceChanged;
      expect(next).toMatchObject({ sequence: 6, balance: "210" });
      expect(second.pending()).toEqual([]);
      await second.close();
    });

    it("ends the stream of a key revoked through the other instance within keyCheckMs + apiKeyCacheMs", async () => {
      const keyCheckMs = 200;
      const gateway = createGateway({
        database: testDatabase.database,
        config,
        liveTransport: liveTransports[0],
        liveKeyCheckMs: keyCheckMs,
      });
      try {
        const reader = await createApiKey(testDatabase.database, {
          tenantId: tenant.tenantId,
          name: "dashboard",
          scopes: ["read"],
        });
        const stream = await openEventStream(
          gateway,
          accountSubscription,
          { accountId: tenant.account },
          reader.secret,
        );
        streams.push(stream);
        await waitFor(() => gateway.live.listening === 1, "the subscription to listen");
        // Revoked by instance B (its own connections and key cache): A learns of it from the database.
        const revokedAt = performance.now();
        expect((await revokeApiKey(databaseB, reader.apiKey.id, new Date())).outcome).toBe("revoked");
        const last = await stream.next(apiKeyCacheMs + keyCheckMs + 2_000);
        console.info(`revoked key's stream ended after ${(performance.now() - revokedAt).toFixed(0)} ms`);
        expect(last.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
        await stream.ended;
      } finally {
        await gateway.dispose();
      }
    });
  });
}
