// An exhausted pool: more concurrent writes than DATABASE_POOL_SIZE, while the ones holding the connections
// cannot finish. The extra ones end within a bound with LEDGER_BUSY (writes) or 503 DATABASE_UNAVAILABLE
// (reads), none hangs, and once the holders finish every later write succeeds. PostgreSQL only: SQLite has
// no pool.
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, testEngine } from "../support/database.ts";
import { applicationName, balance, createGatewayFixture, eventually, lockAccountRow, lockWaiters } from "./support.ts";

let testDatabase: TestDatabase | undefined;

afterEach(async () => {
  await testDatabase?.drop();
  testDatabase = undefined;
});

describe.runIf(testEngine === "postgres")("pool exhaustion (PostgreSQL)", () => {
  it("answers the writes that cannot get a connection LEDGER_BUSY within a bound, and recovers", async () => {
    testDatabase = await createTestDatabase({
      poolSize: 2,
      connectTimeoutMs: 500,
      queryTimeoutMs: 30_000,
      applicationName,
    });
    const { url, database } = testDatabase;
    const name = new URL(url).pathname.slice(1);
    const fixture = await createGatewayFixture(database);
    expect((await fixture.deposit(100)).code).toBe("OK");

    const lock = await lockAccountRow(url, fixture.tenantId);
    let holders: Promise<Awaited<ReturnType<typeof fixture.deposit>>[]>;
    try {
      // Two deposits take both connections and wait for the row lock.
      holders = Promise.all([fixture.deposit(10), fixture.deposit(10)]);
      expect(await eventually(async () => (await lockWaiters(url, name)) === 2, 15_000)).toBe(true);

      // Four more cannot get a connection: each attempt gives up after the connect timeout, the write path
      // retries, and the request ends with LEDGER_BUSY instead of waiting for good.
      const extras = await Promise.all([1, 2, 3, 4].map(() => fixture.deposit(1)));
      for (const extra of extras) {
        expect(extra.code).toBe("LEDGER_BUSY");
        expect(extra.elapsedMs).toBeLessThan(20_000);
      }
      // A read that cannot get a connection is answered 503 with Retry-After.
      const read = await fixture.read();
      expect(read.status).toBe(503);
      expect(read.body.errors[0].extensions.code).toBe("DATABASE_UNAVAILABLE");
      expect(read.retryAfter).toBe("5");
      expect(await fixture.get("/health")).toBe(200);
    } finally {
      await lock.release();
    }
    expect((await holders).map((outcome) => outcome.code)).toEqual(["OK", "OK"]);

    for (let index = 0; index < 5; index++) expect((await fixture.deposit(1)).code).toBe("OK");
    expect(await balance(fixture)).toBe(125n);
    expect(await fixture.get("/ready")).toBe(200);
    expect(await fixture.verify()).toEqual([]);
    const stats = database.poolStats()!;
    expect(stats.total).toBeLessThanOrEqual(2);
    expect(stats.waiting).toBe(0);
  });
});
