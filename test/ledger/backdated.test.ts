// Backdated writes (an effective time before now) must leave the ledger valid at every moment from that time
// on: the balance never goes below the floor (minus the overdraft limit) at any later moment, and a debit
// spends only grants that were spendable at its time (in effect, neither expired nor voided). Otherwise the
// write is refused (INSUFFICIENT_CREDITS with the effective time; GRANT_NOT_ACTIVE for a void before the
// grant took effect), writing nothing. Every scenario ends with the verifier finding no discrepancy.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLedgerFixture, expectRefusedWithoutWrites, type LedgerFixture, ok } from "../support/ledger.ts";

const day = 24 * 60 * 60 * 1000;
let fixture: LedgerFixture;
let start: number;

/** The moment `n` days after the test began; the clock is moved to day 20 first. */
const dayOf = (n: number) => new Date(start + n * day);

beforeEach(async () => {
  fixture = await createLedgerFixture();
  start = fixture.now().getTime();
  fixture.advance(20 * day);
});

afterEach(async () => {
  await fixture.verifyClean();
  await fixture.drop();
});

const deposit = async (accountId: string, amount: bigint, on: number, priority = 50) =>
  ok(
    await fixture.ledger.deposit(fixture.tenantId, { accountId, amount, effectiveAt: dayOf(on), grant: { priority } }),
  );

/** The balance at each of the moments, as balanceAt reads it. */
async function balancesAt(accountId: string, days: number[]): Promise<bigint[]> {
  const balances = [];
  for (const n of days)
    balances.push(ok(await fixture.ledger.balanceAt(fixture.tenantId, accountId, dayOf(n))).balance);
  return balances;
}

describe("a backdated reduction", () => {
  it("is refused when it would spend credits that arrived later (the reported case)", async () => {
    const accountId = await fixture.account();
    await deposit(accountId, 100n, 10);
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 80n, effectiveAt: dayOf(1) }),
      "INSUFFICIENT_CREDITS",
      "amount",
    );
    expect(error.params).toMatchObject({ available: "0", requested: "80", effectiveAt: dayOf(1).toISOString() });
    expect(await balancesAt(accountId, [5, 20])).toEqual([0n, 100n]);
  });

  it("is refused when a later balance would go below the floor, and accepted up to it", async () => {
    const accountId = await fixture.account();
    await deposit(accountId, 100n, 1);
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 70n, effectiveAt: dayOf(5) }));
    await deposit(accountId, 100n, 8);
    // 130 now and 100 on day 3, but only 30 on day 5: taking 50 on day 3 would leave -20 on days 5 to 8.
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 50n, effectiveAt: dayOf(3) }),
      "INSUFFICIENT_CREDITS",
    );
    expect(error.params.available).toBe("30");
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 30n, effectiveAt: dayOf(3) }));
    expect(await balancesAt(accountId, [2, 3, 5, 8, 20])).toEqual([100n, 70n, 0n, 100n, 100n]);
  });

  it("counts the overdraft limit at every later moment", async () => {
    const accountId = await fixture.account({ overdraftLimit: 50n });
    await deposit(accountId, 100n, 1);
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 120n, effectiveAt: dayOf(5) }));
    await deposit(accountId, 100n, 8);
    // Now 80, but -20 on day 5: a reduction on day 3 may take at most 30 more.
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 31n, effectiveAt: dayOf(3) }),
      "INSUFFICIENT_CREDITS",
    );
  });

  it("is refused when only grants not yet in effect at its time hold the credits, though the balance then was enough", async () => {
    const accountId = await fixture.account();
    await deposit(accountId, 100n, 1, 10);
    await deposit(accountId, 100n, 10, 90);
    // Spends the day-1 grant (priority 10); the day-10 grant holds the remaining 100.
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 100n, effectiveAt: dayOf(12) }));
    // The balance on day 5 was 100 and never fell below it, but no credit spendable on day 5 is left.
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 50n, effectiveAt: dayOf(5) }),
      "INSUFFICIENT_CREDITS",
    );
    expect(error.params.available).toBe("0");
    // On day 11 the day-10 grant is in effect.
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 50n, effectiveAt: dayOf(11) }));
  });

  it("spends the grants spendable at its time, not the first in spending order", async () => {
    const accountId = await fixture.account();
    const early = (await deposit(accountId, 100n, 1, 90)).grants[0]!.id;
    const late = (await deposit(accountId, 100n, 10, 10)).grants[0]!.id;
    const result = ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 40n, effectiveAt: dayOf(5) }));
    const allocations = await fixture.database.read.creditAllocation.findMany({
      where: { actionId: result.action.id },
    });
    expect(allocations.map((allocation) => [allocation.grantId, allocation.amount])).toEqual([[early, 40n]]);
    expect(late).not.toBe(early);
  });
});

describe("a backdated transfer", () => {
  it("is refused when the source's credits arrived later, or a later source balance would go below the floor", async () => {
    const source = await fixture.account();
    const target = await fixture.account();
    await deposit(source, 100n, 10);
    await expectRefusedWithoutWrites(
      fixture,
      () =>
        fixture.ledger.transfer(fixture.tenantId, {
          sourceAccountId: source,
          targetAccountId: target,
          amount: 10n,
          effectiveAt: dayOf(5),
        }),
      "INSUFFICIENT_CREDITS",
      "amount",
    );
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId: source, amount: 90n, effectiveAt: dayOf(15) }));
    await expectRefusedWithoutWrites(
      fixture,
      () =>
        fixture.ledger.transfer(fixture.tenantId, {
          sourceAccountId: source,
          targetAccountId: target,
          amount: 20n,
          effectiveAt: dayOf(12),
        }),
      "INSUFFICIENT_CREDITS",
    );
    ok(
      await fixture.ledger.transfer(fixture.tenantId, {
        sourceAccountId: source,
        targetAccountId: target,
        amount: 10n,
        effectiveAt: dayOf(12),
      }),
    );
    expect(await balancesAt(source, [11, 12, 15])).toEqual([100n, 90n, 0n]);
  });

  it("gives the target credits in effect from the transfer's time only, so the target cannot spend them earlier", async () => {
    const source = await fixture.account();
    const target = await fixture.account();
    await deposit(source, 100n, 1);
    const moved = ok(
      await fixture.ledger.transfer(fixture.tenantId, {
        sourceAccountId: source,
        targetAccountId: target,
        amount: 60n,
        effectiveAt: dayOf(8),
      }),
    );
    expect(moved.grants.map((grant) => grant.effectiveAt)).toEqual([dayOf(8)]);
    expect(await balancesAt(target, [7, 8, 20])).toEqual([0n, 60n, 60n]);
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId: target, amount: 1n, effectiveAt: dayOf(7) }),
      "INSUFFICIENT_CREDITS",
    );
    // And a transfer out of the target before the credits arrived is refused on the target's side.
    await expectRefusedWithoutWrites(
      fixture,
      () =>
        fixture.ledger.transfer(fixture.tenantId, {
          sourceAccountId: target,
          targetAccountId: source,
          amount: 1n,
          effectiveAt: dayOf(7),
        }),
      "INSUFFICIENT_CREDITS",
    );
    ok(
      await fixture.ledger.transfer(fixture.tenantId, {
        sourceAccountId: target,
        targetAccountId: source,
        amount: 60n,
        effectiveAt: dayOf(9),
      }),
    );
  });
});

describe("a backdated reversal", () => {
  it("is refused before the credits it takes back were in effect", async () => {
    const accountId = await fixture.account();
    const credited = await deposit(accountId, 100n, 10);
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reverse(fixture.tenantId, { actionId: credited.action.id, effectiveAt: dayOf(5) }),
      "INSUFFICIENT_CREDITS",
      "actionId",
    );
    ok(await fixture.ledger.reverse(fixture.tenantId, { actionId: credited.action.id, effectiveAt: dayOf(11) }));
    expect(await balancesAt(accountId, [10, 11])).toEqual([100n, 0n]);
  });

  it("is refused when a later balance would go below the floor", async () => {
    const accountId = await fixture.account({ overdraftLimit: 50n });
    const credited = await deposit(accountId, 100n, 1);
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 120n, effectiveAt: dayOf(5) }));
    await deposit(accountId, 100n, 8);
    // Taking the 100 back on day 3 would leave -120 on day 5 (the limit is 50), though now it leaves -20.
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reverse(fixture.tenantId, { actionId: credited.action.id, effectiveAt: dayOf(3) }),
      "INSUFFICIENT_CREDITS",
      "actionId",
    );
  });

  it("of a transfer is refused before the target received the credits", async () => {
    const source = await fixture.account();
    const target = await fixture.account();
    await deposit(source, 100n, 1);
    const moved = ok(
      await fixture.ledger.transfer(fixture.tenantId, {
        sourceAccountId: source,
        targetAccountId: target,
        amount: 60n,
        effectiveAt: dayOf(8),
      }),
    );
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reverse(fixture.tenantId, { actionId: moved.action.id, effectiveAt: dayOf(6) }),
      "INSUFFICIENT_CREDITS",
    );
    ok(await fixture.ledger.reverse(fixture.tenantId, { actionId: moved.action.id, effectiveAt: dayOf(9) }));
    expect(await balancesAt(source, [8, 9])).toEqual([40n, 100n]);
  });
});

describe("a backdated void", () => {
  it("is refused before the grant took effect, and accepted after", async () => {
    const accountId = await fixture.account();
    const grant = (await deposit(accountId, 100n, 10)).grants[0]!;
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.voidGrant(fixture.tenantId, { grantId: grant.id, effectiveAt: dayOf(5) }),
      "GRANT_NOT_ACTIVE",
      "grantId",
    );
    expect(error.params).toMatchObject({ state: "NOT_YET_EFFECTIVE", effectiveAt: dayOf(10).toISOString() });
    ok(await fixture.ledger.voidGrant(fixture.tenantId, { grantId: grant.id, effectiveAt: dayOf(12) }));
    expect(await balancesAt(accountId, [11, 12])).toEqual([100n, 0n]);
  });

  it("is refused when a later balance would go below the floor", async () => {
    const accountId = await fixture.account();
    const grant = (await deposit(accountId, 100n, 1)).grants[0]!;
    const spent = ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 100n, effectiveAt: dayOf(5) }));
    // The reversal refills the grant on day 10: it holds 100 again, but the balance was 0 from day 5 to 10.
    ok(await fixture.ledger.reverse(fixture.tenantId, { actionId: spent.action.id, effectiveAt: dayOf(10) }));
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.voidGrant(fixture.tenantId, { grantId: grant.id, effectiveAt: dayOf(3) }),
      "INSUFFICIENT_CREDITS",
      "effectiveAt",
    );
    expect(error.params).toMatchObject({ available: "0", requested: "100" });
    ok(await fixture.ledger.voidGrant(fixture.tenantId, { grantId: grant.id, effectiveAt: dayOf(11) }));
    expect(await balancesAt(accountId, [4, 5, 10, 11])).toEqual([100n, 0n, 100n, 0n]);
  });
});
