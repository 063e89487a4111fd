// Terminated backends: pg_terminate_backend on the gateway's connections, in the middle of transactions and
// between requests. The affected writes are retried on new connections and succeed; nothing leaks; the
// ledger verifies clean. PostgreSQL only: SQLite has no server sessions to terminate.
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, testEngine } from "../support/database.ts";
import {
  applicationName,
  balance,
  createGatewayFixture,
  eventually,
  gatewaySessions,
  lockAccountRow,
  lockWaiters,
  terminateGatewaySessions,
} from "./support.ts";

let testDatabase: TestDatabase | undefined;

afterEach(async () => {
  await testDatabase?.drop();
  testDatabase = undefined;
});

const databaseName = (url: string) => new URL(url).pathname.slice(1);

describe.runIf(testEngine === "postgres")("terminated backends (PostgreSQL)", () => {
  it("retries deposits whose transactions were terminated mid-way, and leaks no connection", async () => {
    testDatabase = await createTestDatabase({
      poolSize: 2,
      connectTimeoutMs: 1_000,
      queryTimeoutMs: 20_000,
      applicationName,
    });
    const { url, database } = testDatabase;
    const name = databaseName(url);
    const fixture = await createGatewayFixture(database);
    expect((await fixture.deposit(100)).code).toBe("OK");

    // Both deposits wait for the account's row lock inside their transactions, each holding a pool connection.
    const lock = await lockAccountRow(url, fixture.tenantId);
    let deposits: Promise<Awaited<ReturnType<typeof fixture.deposit>>[]>;
    try {
      deposits = Promise.all([fixture.deposit(10), fixture.deposit(10)]);
      expect(await eventually(async () => (await lockWaiters(url, name)) === 2, 15_000)).toBe(true);
      expect(await terminateGatewaySessions(url, name)).toBeGreaterThanOrEqual(2);
      // The write path retries them on new connections, where they wait for the lock again.
      expect(await eventually(async () => (await lockWaiters(url, name)) === 2, 15_000)).toBe(true);
    } finally {
      await lock.release();
    }
    const outcomes = await deposits;
    expect(outcomes.map((outcome) => outcome.code)).toEqual(["OK", "OK"]);
    for (const outcome of outcomes) expect(outcome.elapsedMs).toBeLessThan(30_000);

    for (let index = 0; index < 5; index++) expect((await fixture.deposit(1)).code).toBe("OK");
    expect(await balance(fixture)).toBe(125n);
    expect(await fixture.verify()).toEqual([]);
    const stats = database.poolStats()!;
    expect(stats.total).toBeLessThanOrEqual(2);
    expect(stats.waiting).toBe(0);
    expect((await gatewaySessions(url, name)).length).toBeLessThanOrEqual(2);
  });

  it("serves again at once after its idle connections were terminated", async () => {
    testDatabase = await createTestDatabase({ poolSize: 2, connectTimeoutMs: 1_000, applicationName });
    const { url, database } = testDatabase;
    const name = databaseName(url);
    const fixture = await createGatewayFixture(database);
    await Promise.all([fixture.deposit(5), fixture.deposit(5)]);
    expect((await gatewaySessions(url, name)).length).toBeGreaterThan(0);

    for (let round = 0; round < 3; round++) {
      await terminateGatewaySessions(url, name);
      // A write always gets through (a dead pooled connection only costs a retry).
      expect((await fixture.deposit(10)).code).toBe("OK");
      // A read that happened to get a connection the server had just ended is answered 503 with
      // Retry-After, never a masked 500; the next one is served.
      const read = await fixture.read();
      if (read.status !== 200) {
        expect(read.status).toBe(503);
        expect(read.body.errors[0].extensions.code).toBe("DATABASE_UNAVAILABLE");
        expect(read.retryAfter).not.toBeNull();
      }
      expect(await fixture.get("/ready")).toBe(200);
    }
    expect(await balance(fixture)).toBe(40n);
    expect(await fixture.verify()).toEqual([]);
    expect(database.poolStats()!.total).toBeLessThanOrEqual(2);
  });
});
