// Concurrent writers: no double spend, no lost update, no deadlock, conservation of credits, on both engines,
// from one ledger and from several (as several gateway instances sharing one database would). A race that
// outlasts its retries is reported as LEDGER_BUSY, never as a business failure.
import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/client.ts";
import { createLedger, type Ledger } from "../../src/ledger/index.ts";
import { testEngine } from "../support/database.ts";
import { balanceOf, createLedgerFixture, type LedgerFixture, ok } from "../support/ledger.ts";

// Several gateway instances share a database only on PostgreSQL. SQLite is the embedded, single-instance
// engine; a second connection in the same process would even block it (better-sqlite3 waits for the file
// lock synchronously, stalling the event loop that the lock holder needs to commit). SQLite's cross-process
// locking is tested below with a real second process.
const onPostgres = testEngine === "postgres";

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

/** A second and third "gateway instance": their own connections to the same database and the same clock. */
async function moreInstances(current: LedgerFixture, count: number): Promise<Ledger[]> {
  const ledgers: Ledger[] = [];
  for (let index = 0; index < count; index++) {
    const database = await openDatabase(current.testDatabase.url, { poolSize: 5 });
    extraClients.push(database);
    ledgers.push(createLedger(database, { clock: current.now }));
  }
  return ledgers;
}

describe("concurrent writers", () => {
  it("lets exactly 10 of 50 simultaneous reductions of 10 through on an account holding 100", async () => {
    fixture = await createLedgerFixture();
    const current = fixture;
    const accountId = await current.account();
    ok(await current.ledger.deposit(current.tenantId, { accountId, amount: 100n }));
    const results = await Promise.all(
      Array.from({ length: 50 }, () => current.ledger.reduce(current.tenantId, { accountId, amount: 10n })),
    );
    const codes = results.map((result) => (result.ok ? "OK" : result.error.code));
    expect(codes.filter((code) => code === "OK")).toHaveLength(10);
    expect(codes.filter((code) => code === "INSUFFICIENT_CREDITS")).toHaveLength(40);
    expect(await balanceOf(current, accountId)).toBe(0n);
    const balancesAfter = results.flatMap((result) => (result.ok ? [result.balances[0]!.balance] : []));
    expect(balancesAfter.sort((a, b) => Number(a - b))).toEqual([0n, 10n, 20n, 30n, 40n, 50n, 60n, 70n, 80n, 90n]);
  });

  it("reverses an action once among simultaneous reversals; every other one answers ALREADY_REVERSED", async () => {
    fixture = await createLedgerFixture();
    const current = fixture;
    const [source, target] = [await current.account(), await current.account()];
    ok(await current.ledger.deposit(current.tenantId, { accountId: source, amount: 1000n }));
    const ledgers = onPostgres ? [current.ledger, ...(await moreInstances(current, 1))] : [current.ledger];
    const codes: string[] = [];
    // Pairs, as two clients retrying one reversal on two instances would send them. The target holds exactly
    // what each transfer brought: once one reversal took it back, the other could only be refused for want of
    // credits, unless it is recognized as the same reversal.
    for (let pair = 0; pair < 10; pair++) {
      const transfer = ok(
        await current.ledger.transfer(current.tenantId, {
          sourceAccountId: source,
          targetAccountId: target,
          amount: 5n,
        }),
      );
      const results = await Promise.all(
        [0, 1].map((index) =>
          ledgers[index % ledgers.length]!.reverse(current.tenantId, { actionId: transfer.action.id }),
        ),
      );
      codes.push(...results.map((result) => (result.ok ? "OK" : result.error.code)).sort());
    }
    expect(codes).toEqual(Array.from({ length: 10 }, () => ["ALREADY_REVERSED", "OK"]).flat());
    expect([await balanceOf(current, source), await balanceOf(current, target)]).toEqual([1000n, 0n]);
  });

  it.runIf(onPostgres)("does not double-spend across three gateway instances sharing the database", async () => {
    fixture = await createLedgerFixture();
    const current = fixture;
    const accountId = await current.account();
    ok(await current.ledger.deposit(current.tenantId, { accountId, amount: 100n }));
    const ledgers = [current.ledger, ...(await moreInstances(current, 2))];
    const results = await Promise.all(
      Array.from({ length: 45 }, (_, index) =>
        ledgers[index % 3]!.reduce(current.tenantId, { accountId, amount: 10n }),
      ),
    );
    expect(results.filter((result) => result.ok)).toHaveLength(10);
    expect(results.every((result) => result.ok || result.error.code === "INSUFFICIENT_CREDITS")).toBe(true);
    expect(await balanceOf(current, accountId)).toBe(0n);
  });

  it("conserves the total over many random concurrent transfers in both directions, never overdrawing", async () => {
    fixture = await createLedgerFixture();
    const current = fixture;
    const accounts = await Promise.all(Array.from({ length: 4 }, () => current.account()));
    for (const accountId of accounts) ok(await current.ledger.deposit(current.tenantId, { accountId, amount: 100n }));
    const ledgers = onPostgres ? [current.ledger, ...(await moreInstances(current, 1))] : [current.ledger];
    // A fixed pseudo-random sequence, so a failure can be replayed.
    let seed = 20261123;
    const random = (n: number) => {
      // mulberry32: 32-bit integer arithmetic only, so no precision is lost.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const transfers = Array.from({ length: 120 }, () => {
      const source = random(4);
      const target = (source + 1 + random(3)) % 4;
      return { source: accounts[source]!, target: accounts[target]!, amount: BigInt(1 + random(60)) };
    });
    const results = await Promise.all(
      transfers.map((transfer, index) =>
        ledgers[index % ledgers.length]!.transfer(current.tenantId, {
          sourceAccountId: transfer.source,
          targetAccountId: transfer.target,
          amount: transfer.amount,
        }),
      ),
    );
    const codes = new Set(results.map((result) => (result.ok ? "OK" : result.error.code)));
    expect([...codes].filter((code) => code !== "OK" && code !== "INSUFFICIENT_CREDITS")).toEqual([]);
    expect(results.filter((result) => result.ok).length).toBeGreaterThan(30);
    const balances = await Promise.all(accounts.map((accountId) => balanceOf(current, accountId)));
    expect(balances.reduce((sum, balance) => sum + balance, 0n)).toBe(400n);
    for (const balance of balances) expect(balance).toBeGreaterThanOrEqual(0n);
  });

  it.runIf(onPostgres)(
    "reports a race that outlasts its retries as LEDGER_BUSY, never as insufficient credits (PostgreSQL)",
    async () => {
      fixture = await createLedgerFixture();
      const current = fixture;
      const accountId = await current.account();
      ok(await current.ledger.deposit(current.tenantId, { accountId, amount: 1000n }));
      // An instance allowed one attempt, one pooled connection and almost no time to wait for it: concurrent
      // writes through it lose their race for the connection.
      const strictDatabase = await openDatabase(current.testDatabase.url, { poolSize: 1 });
      extraClients.push(strictDatabase);
      const strict = createLedger(strictDatabase, {
        clock: current.now,
        transactions: { maxAttempts: 1, maxWaitMs: 1 },
      });
      const results = await Promise.all(
        Array.from({ length: 30 }, () => strict.reduce(current.tenantId, { accountId, amount: 1n })),
      );
      const failures = results.flatMap((result) => (result.ok ? [] : [result.error]));
      expect(failures.length).toBeGreaterThan(0);
      for (const error of failures) {
        expect(error.code).toBe("LEDGER_BUSY");
        expect(error.retryable).toBe(true);
      }
      const succeeded = results.filter((result) => result.ok).length;
      expect(await balanceOf(current, accountId)).toBe(1000n - BigInt(succeeded));
    },
  );

  it.runIf(!onPostgres)(
    "reports a write lock held by another process past the busy timeout as LEDGER_BUSY (SQLite)",
    async () => {
      fixture = await createLedgerFixture({ transactions: { maxAttempts: 2 }, sqliteBusyTimeoutMs: 50 });
      const current = fixture;
      const accountId = await current.account();
      ok(await current.ledger.deposit(current.tenantId, { accountId, amount: 100n }));
      const file = current.testDatabase.url.slice("file:".length);
      // Another process takes the database's write lock and keeps it for two seconds.
      const holder = spawn(
        process.execPath,
        [
          "-e",
          `const db = new (require("better-sqlite3"))(process.argv[1]);
         db.exec("BEGIN IMMEDIATE"); console.log("locked");
         setTimeout(() => { db.exec("ROLLBACK"); db.close(); }, 2000);`,
          file,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
      const result = await current.ledger.reduce(current.tenantId, { accountId, amount: 10n });
      await new Promise((resolve) => holder.once("exit", resolve));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe("LEDGER_BUSY");
        expect(result.error.retryable).toBe(true);
      }
      expect(await balanceOf(current, accountId)).toBe(100n);
      // Once the other process lets go, the same request goes through.
      ok(await current.ledger.reduce(current.tenantId, { accountId, amount: 10n }));
    },
  );
});
