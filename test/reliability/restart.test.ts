// A PostgreSQL restart (stop -m immediate, then start) under concurrent writes, on a cluster of this test's
// own so that the other test files are not disturbed. While the server is down every request ends within a
// bound with a retryable answer, /ready says 503 and /health 200; within seconds of the server being back
// the gateway serves again by itself, with no connection leaked, and the ledger verifies clean. Each client
// retries with the same idempotency key until its deposit is acknowledged, so the final balance must be
// exactly the acknowledged deposits: none lost, none doubled. PostgreSQL only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/client.ts";
import { testEngine } from "../support/database.ts";
import { postgresBinaries, type PrivateCluster, startPrivateCluster } from "./private-cluster.ts";
import { applicationName, balance, createGatewayFixture, eventually, gatewaySessions } from "./support.ts";

const binaries = testEngine === "postgres" ? postgresBinaries() : null;
let cluster: PrivateCluster | undefined;
let database: Database | undefined;

beforeAll(async () => {
  if (binaries) cluster = await startPrivateCluster(binaries);
});

afterAll(async () => {
  await database?.close().catch(() => {});
  await cluster?.destroy();
});

const retryable = new Set(["OK", "LEDGER_BUSY", "DATABASE_UNAVAILABLE"]);

// Skipped on SQLite (no server to restart), and where no PostgreSQL server binaries are installed (the
// shared test server may then be someone else's, which this test must not restart).
describe.runIf(binaries !== null)("PostgreSQL restart under concurrent writes", () => {
  it("serves again within seconds of the server's return, with nothing lost, doubled or leaked", async () => {
    database = await openDatabase(cluster!.url, {
      poolSize: 2,
      connectTimeoutMs: 1_000,
      queryTimeoutMs: 5_000,
      applicationName,
    });
    const fixture = await createGatewayFixture(database);
    const seen: { code: string; status: number; retryAfter: string | null; elapsedMs: number }[] = [];
    let acknowledged = 0;
    let stop = false;
    const client = async (clientId: number) => {
      for (let index = 0; !stop; index++) {
        const idempotencyKey = `client-${clientId}-${index}`;
        for (;;) {
          const outcome = await fixture.deposit(1, { idempotencyKey });
          seen.push(outcome);
          if (outcome.code === "OK") {
            acknowledged++;
            break;
          }
          if (!retryable.has(outcome.code)) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const clients = [1, 2, 3, 4].map(client);
    expect(await eventually(() => acknowledged >= 20, 15_000)).toBe(true);

    await cluster!.stopImmediately();
    // While the server is down.
    const read = await fixture.read();
    expect(read.status).toBe(503);
    expect(read.body.errors[0].extensions.code).toBe("DATABASE_UNAVAILABLE");
    expect(read.retryAfter).not.toBeNull();
    expect(await fixture.get("/ready")).toBe(503);
    expect(await fixture.get("/health")).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    await cluster!.start();
    const back = Date.now();
    expect(await eventually(async () => (await fixture.get("/ready")) === 200, 15_000)).toBe(true);
    const before = acknowledged;
    expect(await eventually(() => acknowledged >= before + 20, 20_000)).toBe(true);
    expect(Date.now() - back).toBeLessThan(30_000);
    stop = true;
    await Promise.all(clients);

    // Every answer was retryable and bounded: no masked 500, nothing that waited for good.
    for (const outcome of seen) {
      expect(retryable.has(outcome.code), `unexpected answer ${outcome.code} (HTTP ${outcome.status})`).toBe(true);
      expect(outcome.elapsedMs).toBeLessThan(30_000);
      if (outcome.code === "DATABASE_UNAVAILABLE") {
        expect(outcome.status).toBe(503);
        expect(outcome.retryAfter).not.toBeNull();
      }
    }
    expect(await balance(fixture)).toBe(BigInt(acknowledged));
    expect(await fixture.verify()).toEqual([]);
    const stats = database.poolStats()!;
    expect(stats.total).toBeLessThanOrEqual(2);
    expect(stats.waiting).toBe(0);
    expect(
      (await gatewaySessions(cluster!.url.replace(/\/ledger$/, "/postgres"), "ledger")).length,
    ).toBeLessThanOrEqual(2);
  });
});
