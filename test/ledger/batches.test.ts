// Batches in the ledger itself, on both engines: the whole-batch refusals (empty, too large), verify's check
// that a stored batch has all of its actions, and random batches racing random single transfers over the same
// accounts (from two gateway instances on PostgreSQL): no deadlock surfaces, credits are conserved, each
// batch is written whole or not at all, and verify stays clean.
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/client.ts";
import { sql } from "../../src/db/sql.ts";
import { createLedger, type Ledger, maxBatchItems } from "../../src/ledger/index.ts";
import { testEngine } from "../support/database.ts";
import {
  balanceOf,
  createLedgerFixture,
  expectRefusedWithoutWrites,
  type LedgerFixture,
  ok,
} from "../support/ledger.ts";

let fixture: LedgerFixture | undefined;
const extraClients: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const client of extraClients.splice(0)) await client.close();
  if (fixture) {
    await fixture.verifyClean();
    await fixture.drop();
    fixture = undefined;
  }
});

describe("a batch", () => {
  it("is refused as a whole when empty or larger than the maximum, writing nothing", async () => {
    fixture = await createLedgerFixture();
    const current = fixture;
    const accountId = await current.account();
    await expectRefusedWithoutWrites(
      current,
      () => current.ledger.applyBatch(current.tenantId, { items: [] }),
      "BATCH_EMPTY",
      "items",
    );
    const items = Array.from({ length: maxBatchItems + 1 }, () => ({ deposit: { accountId, amount: 1n } }));
    await expectRefusedWithoutWrites(
      current,
      () => current.ledger.applyBatch(current.tenantId, { items }),
      "BATCH_TOO_LARGE",
      "items",
    );
    // The maximum itself is accepted.
    const written = ok(await current.ledger.applyBatch(current.tenantId, { items: items.slice(1) }));
    expect(written.items).toHaveLength(maxBatchItems);
    expect(await balanceOf(current, accountId)).toBe(BigInt(maxBatchItems));
  });

  it("is reported by verify when it lacks one of its actions", async () => {
    fixture = await createLedgerFixture();
    const current = fixture;
    const accountId = await current.account();
    const written = ok(
      await current.ledger.applyBatch(current.tenantId, {
        items: [{ deposit: { accountId, amount: 5n } }, { reduce: { accountId, amount: 2n } }],
      }),
    );
    const batchId = written.batch?.id as string;
    await current.database.transaction((tx) =>
      tx.execute(sql`UPDATE credit_batch SET item_count = 3 WHERE id = ${batchId}`),
    );
    const problems = await current.ledger.verify({ tenantId: current.tenantId });
    expect(problems.map((problem) => [problem.kind, problem.id])).toEqual([["batch-items", batchId]]);
    // Also when verifying one account of the batch.
    const ofAccount = await current.ledger.verify({ tenantId: current.tenantId, accountId });
    expect(ofAccount.map((problem) => problem.kind)).toEqual(["batch-items"]);
    await current.database.transaction((tx) =>
      tx.execute(sql`UPDATE credit_batch SET item_count = 2 WHERE id = ${batchId}`),
    );
  });
});

describe("one idempotency key", () => {
  it("writes one batch for concurrent requests with the key, and answers the others from it", async () => {
    fixture = await createLedgerFixture();
    const current = fixture;
    const accountId = await current.account();
    const input = {
      idempotencyKey: "run-1",
      items: [{ deposit: { accountId, amount: 7n } }, { reduce: { accountId, amount: 2n } }],
    };
    const results = await Promise.all(
      Array.from({ length: 6 }, () => current.ledger.applyBatch(current.tenantId, input)),
    );
    const written = results.map((result) => ok(result));
    expect(written.filter((result) => !result.replayed)).toHaveLength(1);
    const actionIds = written.map((result) => result.items.map((item) => item.action.id).join());
    expect(new Set(actionIds).size).toBe(1);
    expect(await balanceOf(current, accountId)).toBe(5n);
  });
});

describe("batches racing single writes", () => {
  it("conserve credits, write each batch whole or not at all, and surface no deadlock", async () => {
    fixture = await createLedgerFixture();
    const current = fixture;
    const accounts = await Promise.all(Array.from({ length: 4 }, () => current.account()));
    for (const accountId of accounts) ok(await current.ledger.deposit(current.tenantId, { accountId, amount: 100n }));
    const ledgers: Ledger[] = [current.ledger];
    // A second gateway instance shares the database only on PostgreSQL (see concurrency.test.ts).
    if (testEngine === "postgres") {
      const database = await openDatabase(current.testDatabase.url, { poolSize: 5 });
      extraClients.push(database);
      ledgers.push(createLedger(database, { clock: current.now }));
    }
    // A fixed pseudo-random sequence (mulberry32), so a failure can be replayed.
    let seed = 20261130;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const transfer = () => {
      const source = random(4);
      const target = (source + 1 + random(3)) % 4;
      return { sourceAccountId: accounts[source]!, targetAccountId: accounts[target]!, amount: BigInt(1 + random(40)) };
    };
    const writes = Array.from({ length: 60 }, (_, index) => {
      const ledger = ledgers[index % ledgers.length]!;
      if (index % 3 !== 0) return ledger.transfer(current.tenantId, transfer());
      // Batches of 2 to 5 transfers in arbitrary account order: their locks are taken up front, sorted.
      const items = Array.from({ length: 2 + random(4) }, () => ({ transfer: transfer() }));
      return ledger.applyBatch(current.tenantId, { items });
    });
    const results = await Promise.all(writes);
    const codes = new Set(results.map((result) => (result.ok ? "OK" : result.error.code)));
    expect([...codes].filter((code) => code !== "OK" && code !== "INSUFFICIENT_CREDITS")).toEqual([]);
    expect(results.filter((result) => result.ok && "items" in result).length).toBeGreaterThan(3);
    const balances = await Promise.all(accounts.map((accountId) => balanceOf(current, accountId)));
    expect(balances.reduce((sum, balance) => sum + balance, 0n)).toBe(400n);
    for (const balance of balances) expect(balance).toBeGreaterThanOrEqual(0n);
    // Every written batch has all its actions; a refused one left none.
    const rows = await current.database.reader.query<{ count: unknown }>(
      sql`SELECT COUNT(*) AS count FROM credit_action WHERE tenant_id = ${current.tenantId}`,
    );
    const writtenActions = results.reduce(
      (sum, result) => sum + (result.ok ? ("items" in result ? result.items.length : 1) : 0),
      accounts.length,
    );
    expect(Number(rows[0]?.count)).toBe(writtenActions);
  });
});
