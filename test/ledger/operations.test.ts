// The ledger's operations on a real database (SQLite and PostgreSQL): what each writes, the order grants are
// spent in, transfers, overdrafts, reversals, voids, expiry and balances at a moment. Every scenario ends
// with the verifier finding no discrepancy.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sql } from "../../src/db/sql.ts";
import {
  balanceOf,
  createLedgerFixture,
  expectRefusedWithoutWrites,
  type LedgerFixture,
  ok,
} from "../support/ledger.ts";

const day = 24 * 60 * 60 * 1000;
let fixture: LedgerFixture;

beforeEach(async () => {
  fixture = await createLedgerFixture();
});

afterEach(async () => {
  await fixture.verifyClean();
  await fixture.drop();
});

describe("deposit", () => {
  it("credits the account through a new grant and records one credit entry", async () => {
    const accountId = await fixture.account();
    const result = ok(
      await fixture.ledger.deposit(fixture.tenantId, {
        accountId,
        amount: 250n,
        note: "Welcome bonus",
        externalReference: "campaign:welcome",
        grant: { name: "Welcome", category: "PROMOTIONAL", priority: 10 },
      }),
    );
    expect(result.replayed).toBe(false);
    expect(result.action).toMatchObject({
      type: "DEPOSIT",
      amount: 250n,
      currency: "PTS",
      targetAccountId: accountId,
      sourceAccountId: null,
    });
    expect(result.action.note).toBe("Welcome bonus");
    expect(result.entries).toHaveLength(1);
    expect(result.entries[0]).toMatchObject({
      direction: "CREDIT",
      balanceBefore: 0n,
      balanceAfter: 250n,
      sequence: 1,
    });
    expect(result.balances).toEqual([{ accountId, balance: 250n }]);
    expect(result.grants).toHaveLength(1);
    expect(result.grants[0]).toMatchObject({
      name: "Welcome",
      category: "PROMOTIONAL",
      priority: 10,
      originalAmount: 250n,
      remainingAmount: 250n,
      externalReference: "campaign:welcome",
    });
    expect(await balanceOf(fixture, accountId)).toBe(250n);
  });

  it("accepts amounts as safe-integer numbers and digit strings, exactly up to the 64-bit limit", async () => {
    const accountId = await fixture.account();
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 7 }));
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: "9223372036854775800" }));
    expect(await balanceOf(fixture, accountId)).toBe(9223372036854775807n);
  });
});

describe("reduce", () => {
  it("spends grants by priority, then soonest expiry, then oldest", async () => {
    const accountId = await fixture.account();
    const deposit = async (amount: bigint, grant: { priority?: number; expiresAt?: Date; name: string }) =>
      ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount, grant })).grants[0]!.id;
    const later = await deposit(100n, { name: "no expiry, priority 50" });
    fixture.advance(1000);
    const newer = await deposit(100n, { name: "no expiry, newer" });
    const soon = await deposit(100n, { name: "expires soon", expiresAt: new Date(fixture.now().getTime() + 10 * day) });
    const sooner = await deposit(100n, {
      name: "expires sooner",
      expiresAt: new Date(fixture.now().getTime() + 5 * day),
    });
    const first = await deposit(100n, { name: "priority 0", priority: 0 });

    const result = ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 450n }));
    const allocations = await fixture.database.read.creditAllocation.findMany({
      where: { actionId: result.action.id },
    });
    const taken = new Map(allocations.map((allocation) => [allocation.grantId, allocation.amount]));
    expect(taken.get(first)).toBe(100n);
    expect(taken.get(sooner)).toBe(100n);
    expect(taken.get(soon)).toBe(100n);
    expect(taken.get(later)).toBe(100n);
    expect(taken.get(newer)).toBe(50n);
    expect(result.entries[0]).toMatchObject({ direction: "DEBIT", balanceBefore: 500n, balanceAfter: 50n });
  });

  it("is refused with INSUFFICIENT_CREDITS beyond the balance, writing nothing", async () => {
    const accountId = await fixture.account();
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n }));
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 101n }),
      "INSUFFICIENT_CREDITS",
      "amount",
    );
    expect(error.params).toMatchObject({ available: "100", requested: "101" });
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 100n }));
    expect(await balanceOf(fixture, accountId)).toBe(0n);
  });

  it("may overdraw down to the account's overdraft limit, and a deposit repays the overdraft first", async () => {
    const accountId = await fixture.account({ overdraftLimit: 50n });
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 30n }));
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 80n }));
    expect(await balanceOf(fixture, accountId)).toBe(-50n);
    const [state] = await fixture.ledger.accountBalances(fixture.tenantId, [accountId]);
    expect(state!.available).toBe(0n);
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 1n }),
      "INSUFFICIENT_CREDITS",
    );

    const repaid = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 70n }));
    expect(repaid.balances).toEqual([{ accountId, balance: 20n }]);
    // The deposit's grant holds only what was left after repaying the 50 overdrawn.
    expect(repaid.grants[0]).toMatchObject({ originalAmount: 70n, remainingAmount: 20n });
  });
});

describe("transfer", () => {
  it("moves credits atomically and appears in both accounts' histories", async () => {
    const source = await fixture.account();
    const target = await fixture.account();
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: source, amount: 100n }));
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: target, amount: 5n }));
    const result = ok(
      await fixture.ledger.transfer(fixture.tenantId, {
        sourceAccountId: source,
        targetAccountId: target,
        amount: 40n,
        note: "gift",
      }),
    );
    expect(result.action).toMatchObject({
      type: "TRANSFER",
      sourceAccountId: source,
      targetAccountId: target,
      amount: 40n,
    });
    expect(
      result.entries.map((entry) => [entry.accountId, entry.direction, entry.balanceBefore, entry.balanceAfter]),
    ).toEqual([
      [source, "DEBIT", 100n, 60n],
      [target, "CREDIT", 5n, 45n],
    ]);
    for (const accountId of [source, target]) {
      const history = await fixture.database.read.creditEntry.findMany({
        where: { accountId, actionId: result.action.id },
      });
      expect(history).toHaveLength(1);
    }
    expect(await balanceOf(fixture, source)).toBe(60n);
    expect(await balanceOf(fixture, target)).toBe(45n);
  });

  it("keeps the category, priority and expiry of the credits it moves", async () => {
    const source = await fixture.account();
    const target = await fixture.account();
    const expiresAt = new Date(fixture.now().getTime() + 30 * day);
    ok(
      await fixture.ledger.deposit(fixture.tenantId, {
        accountId: source,
        amount: 30n,
        grant: { category: "PROMOTIONAL", priority: 5, expiresAt },
      }),
    );
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: source, amount: 100n }));
    const result = ok(
      await fixture.ledger.transfer(fixture.tenantId, {
        sourceAccountId: source,
        targetAccountId: target,
        amount: 50n,
      }),
    );
    const grants = result.grants.map((grant) => ({
      category: grant.category,
      priority: grant.priority,
      expiresAt: grant.expiresAt,
      amount: grant.remainingAmount,
    }));
    expect(grants).toEqual(
      expect.arrayContaining([
        { category: "PROMOTIONAL", priority: 5, expiresAt, amount: 30n },
        { category: "PAID", priority: 50, expiresAt: null, amount: 20n },
      ]),
    );
    // The promotional credits still expire on their day in the target account.
    fixture.advance(31 * day);
    expect(await balanceOf(fixture, target)).toBe(20n);
  });

  it("refuses a transfer between currencies, to the same account, or from a closed account, writing nothing", async () => {
    const points = await fixture.account({ currency: "PTS" });
    const dollars = await fixture.account({ currency: "USD" });
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: points, amount: 10n }));
    await expectRefusedWithoutWrites(
      fixture,
      () =>
        fixture.ledger.transfer(fixture.tenantId, { sourceAccountId: points, targetAccountId: dollars, amount: 1n }),
      "CURRENCY_MISMATCH",
      "targetAccountId",
    );
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.transfer(fixture.tenantId, { sourceAccountId: points, targetAccountId: points, amount: 1n }),
      "SAME_ACCOUNT",
      "targetAccountId",
    );
    const closed = await fixture.account();
    ok(await fixture.ledger.closeAccount(fixture.tenantId, { accountId: closed }));
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.transfer(fixture.tenantId, { sourceAccountId: points, targetAccountId: closed, amount: 1n }),
      "ACCOUNT_CLOSED",
      "targetAccountId",
    );
    await expectRefusedWithoutWrites(
      fixture,
      () =>
        fixture.ledger.transfer(fixture.tenantId, { sourceAccountId: points, targetAccountId: "missing", amount: 1n }),
      "ACCOUNT_NOT_FOUND",
      "targetAccountId",
    );
  });
});

describe("expiry and voids", () => {
  it("takes expired credits off the balance at the expiry time, without waiting for any job", async () => {
    const accountId = await fixture.account();
    const expiresAt = new Date(fixture.now().getTime() + 7 * day);
    const grant = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 80n, grant: { expiresAt } }))
      .grants[0]!;
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 20n }));
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 30n }));
    expect(await balanceOf(fixture, accountId)).toBe(70n);

    fixture.advance(7 * day);
    expect(await balanceOf(fixture, accountId)).toBe(20n);
    const expiration = await fixture.database.read.creditAction.findFirstOrThrow({ where: { type: "EXPIRATION" } });
    expect(expiration).toMatchObject({
      amount: 50n,
      grantId: grant.id,
      sourceAccountId: accountId,
      initiatorType: "SYSTEM",
    });
    expect(expiration.effectiveAt).toEqual(expiresAt);
    // A reduction after the expiry can only spend what is left.
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 21n }),
      "INSUFFICIENT_CREDITS",
    );
  });

  it("settles expiries inside a write before spending", async () => {
    const accountId = await fixture.account();
    ok(
      await fixture.ledger.deposit(fixture.tenantId, {
        accountId,
        amount: 50n,
        grant: { expiresAt: new Date(fixture.now().getTime() + day) },
      }),
    );
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 10n }));
    fixture.advance(2 * day);
    // No read happened in between: the reduction itself must see the expiry.
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 11n }),
      "INSUFFICIENT_CREDITS",
    );
    const result = ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 10n }));
    expect(result.settled.map((action) => action.type)).toEqual(["EXPIRATION"]);
    expect(result.entries[0]).toMatchObject({ balanceBefore: 10n, balanceAfter: 0n, sequence: 4 });
  });

  it("voids a grant's remaining credits through a VOID action, once", async () => {
    const accountId = await fixture.account();
    const grant = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n })).grants[0]!;
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 5n }));
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 40n }));
    const voided = ok(await fixture.ledger.voidGrant(fixture.tenantId, { grantId: grant.id, note: "fraud" }));
    expect(voided.action).toMatchObject({ type: "VOID", amount: 60n, grantId: grant.id });
    expect(await balanceOf(fixture, accountId)).toBe(5n);
    const stored = await fixture.database.read.creditGrant.findUniqueOrThrow({ where: { id: grant.id } });
    expect(stored.voidedAt).not.toBeNull();
    expect(stored.remainingAmount).toBe(0n);
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.voidGrant(fixture.tenantId, { grantId: grant.id }),
      "GRANT_NOT_ACTIVE",
      "grantId",
    );
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.voidGrant(fixture.tenantId, { grantId: "nope" }),
      "GRANT_NOT_FOUND",
      "grantId",
    );
  });
});

describe("reversal", () => {
  it("undoes a deposit, a reduction and a transfer exactly, each only once", async () => {
    const a = await fixture.account();
    const b = await fixture.account();
    const deposit = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: a, amount: 100n }));
    const reduction = ok(await fixture.ledger.reduce(fixture.tenantId, { accountId: a, amount: 30n }));
    const transfer = ok(
      await fixture.ledger.transfer(fixture.tenantId, { sourceAccountId: a, targetAccountId: b, amount: 20n }),
    );
    expect([await balanceOf(fixture, a), await balanceOf(fixture, b)]).toEqual([50n, 20n]);

    const undoTransfer = ok(await fixture.ledger.reverse(fixture.tenantId, { actionId: transfer.action.id }));
    expect(undoTransfer.action).toMatchObject({
      type: "REVERSAL",
      amount: 20n,
      sourceAccountId: b,
      targetAccountId: a,
      reversesActionId: transfer.action.id,
    });
    expect([await balanceOf(fixture, a), await balanceOf(fixture, b)]).toEqual([70n, 0n]);

    ok(await fixture.ledger.reverse(fixture.tenantId, { actionId: reduction.action.id }));
    expect(await balanceOf(fixture, a)).toBe(100n);
    // The reduction's credits went back into the deposit's grant.
    const grant = await fixture.database.read.creditGrant.findUniqueOrThrow({ where: { id: deposit.grants[0]!.id } });
    expect(grant.remainingAmount).toBe(100n);

    ok(await fixture.ledger.reverse(fixture.tenantId, { actionId: deposit.action.id }));
    expect(await balanceOf(fixture, a)).toBe(0n);

    for (const original of [deposit, reduction, transfer]) {
      await expectRefusedWithoutWrites(
        fixture,
        () => fixture.ledger.reverse(fixture.tenantId, { actionId: original.action.id }),
        "ALREADY_REVERSED",
        "actionId",
      );
    }
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reverse(fixture.tenantId, { actionId: undoTransfer.action.id }),
      "NOT_REVERSIBLE",
      "actionId",
    );
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reverse(fixture.tenantId, { actionId: "missing" }),
      "ACTION_NOT_FOUND",
      "actionId",
    );
  });

  it("refuses to reverse a deposit whose credits were spent, unless the overdraft allows it", async () => {
    const accountId = await fixture.account();
    const deposit = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n }));
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 60n }));
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reverse(fixture.tenantId, { actionId: deposit.action.id }),
      "INSUFFICIENT_CREDITS",
      "actionId",
    );
    ok(await fixture.ledger.updateAccount(fixture.tenantId, { accountId, overdraftLimit: 100n }));
    ok(await fixture.ledger.reverse(fixture.tenantId, { actionId: deposit.action.id }));
    expect(await balanceOf(fixture, accountId)).toBe(-60n);
  });

  it("lets credits returned to a grant that expired meanwhile expire again at once", async () => {
    const accountId = await fixture.account();
    ok(
      await fixture.ledger.deposit(fixture.tenantId, {
        accountId,
        amount: 40n,
        grant: { expiresAt: new Date(fixture.now().getTime() + day) },
      }),
    );
    const reduction = ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 40n }));
    fixture.advance(2 * day);
    const reversal = ok(await fixture.ledger.reverse(fixture.tenantId, { actionId: reduction.action.id }));
    expect(reversal.settled.map((action) => [action.type, action.amount])).toEqual([["EXPIRATION", 40n]]);
    expect(reversal.settled[0]!.effectiveAt).toEqual(fixture.now());
    expect(await balanceOf(fixture, accountId)).toBe(0n);
  });
});

describe("balances", () => {
  it("answers an account's balance at any past moment from effective times", async () => {
    const accountId = await fixture.account();
    const t0 = fixture.now();
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n }));
    fixture.advance(day);
    const t1 = fixture.now();
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 30n }));
    fixture.advance(day);
    // Backdated: recorded now, effective half a day after t0.
    ok(
      await fixture.ledger.deposit(fixture.tenantId, {
        accountId,
        amount: 5n,
        effectiveAt: new Date(t0.getTime() + day / 2),
      }),
    );
    const at = async (moment: Date) => ok(await fixture.ledger.balanceAt(fixture.tenantId, accountId, moment)).balance;
    expect(await at(new Date(t0.getTime() - 1))).toBe(0n);
    expect(await at(t0)).toBe(100n);
    expect(await at(new Date(t1.getTime() - 1))).toBe(105n);
    expect(await at(t1)).toBe(75n);
    expect(await at(fixture.now())).toBe(75n);
  });

  it("projects scheduled expiries into a future moment", async () => {
    const accountId = await fixture.account();
    ok(
      await fixture.ledger.deposit(fixture.tenantId, {
        accountId,
        amount: 10n,
        grant: { expiresAt: new Date(fixture.now().getTime() + day) },
      }),
    );
    const later = new Date(fixture.now().getTime() + 2 * day);
    expect(ok(await fixture.ledger.balanceAt(fixture.tenantId, accountId, later)).balance).toBe(0n);
  });

  it("answers a balance at a moment when the account's credits in all pass the 64-bit range (SQLite's SUM would not)", async () => {
    const max = 9_223_372_036_854_775_807n;
    const accountId = await fixture.account();
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: max }));
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: max }));
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: max }));
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 2n }));
    // Credits 2^64 - 2 and debits 2^63 + 1 in all.
    expect(ok(await fixture.ledger.balanceAt(fixture.tenantId, accountId, fixture.now())).balance).toBe(max - 2n);
    expect(ok(await fixture.ledger.balanceAt(fixture.tenantId, accountId, new Date(0))).balance).toBe(0n);
  });

  it("never shows an account's available credits above the 64-bit maximum, whatever its overdraft limit", async () => {
    const max = 9_223_372_036_854_775_807n;
    const accountId = await fixture.account({ overdraftLimit: max });
    expect((await fixture.ledger.accountBalances(fixture.tenantId, [accountId]))[0]?.available).toBe(max);
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: max }));
    const [state] = await fixture.ledger.accountBalances(fixture.tenantId, [accountId]);
    expect([state?.balance, state?.available]).toEqual([max, max]);
    // And the whole of it can be spent.
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: max }));
  });

  it("totals a customer's accounts per currency", async () => {
    const customerId = await fixture.customer();
    const points = await fixture.account({ customerId, currency: "PTS" });
    const morePoints = await fixture.account({ customerId, currency: "PTS", overdraftLimit: 5n });
    const dollars = await fixture.account({ customerId, currency: "usd" });
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: points, amount: 10n }));
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: morePoints, amount: 7n }));
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: dollars, amount: 1999n }));
    // A scheduled deposit counts in `scheduled` only, until its time.
    const later = new Date(fixture.now().getTime() + 3_600_000);
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId: points, amount: 4n, effectiveAt: later }));
    const totals = ok(await fixture.ledger.customerBalances(fixture.tenantId, customerId)).totals;
    expect(totals).toEqual([
      { currency: "PTS", balance: 17n, available: 22n, scheduled: 4n, accountCount: 2 },
      { currency: "USD", balance: 1999n, available: 1999n, scheduled: 0n, accountCount: 1 },
    ]);
  });

  it("closes only an empty account", async () => {
    const accountId = await fixture.account();
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 1n }));
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.closeAccount(fixture.tenantId, { accountId }),
      "ACCOUNT_NOT_EMPTY",
      "accountId",
    );
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 1n }));
    const closed = ok(await fixture.ledger.closeAccount(fixture.tenantId, { accountId })).account;
    expect(closed.status).toBe("CLOSED");
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 1n }),
      "ACCOUNT_CLOSED",
      "accountId",
    );
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.closeAccount(fixture.tenantId, { accountId }),
      "ACCOUNT_ALREADY_CLOSED",
      "accountId",
    );
  });
});

describe("verify", () => {
  it("reports an entry whose customer is not its account's (history counts rely on it: see history.ts)", async () => {
    const accountId = await fixture.account();
    const otherCustomer = await fixture.customer();
    const entry = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 5n })).entries[0];
    if (!entry) throw new Error("a deposit has an entry");
    const moveEntry = (customerId: string) =>
      fixture.database.transaction((tx) =>
        tx.execute(sql`UPDATE credit_entry SET customer_id = ${customerId} WHERE id = ${entry.id}`),
      );
    await moveEntry(otherCustomer);
    const problems = await fixture.ledger.verify({ tenantId: fixture.tenantId });
    expect(problems.map((problem) => [problem.kind, problem.id])).toContainEqual(["entry-owner", accountId]);
    // Put it right again, for the verification after the test.
    await moveEntry(entry.customerId);
  });
});
