// Holds on a real database (SQLite and PostgreSQL): authorize, capture (whole or part), release and expiry;
// what each writes, how `available` and `held` move, the refusals (each writing nothing), idempotency, and
// the races: concurrent authorizes and reductions never overdraw, and captures, releases and an expiry racing
// each other close a hold exactly once. Every scenario ends with the verifier finding no discrepancy.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sql } from "../../src/db/sql.ts";
import type { CreditHold } from "../../src/generated/postgres/client.ts";
import {
  balanceOf,
  createLedgerFixture,
  expectRefusedWithoutWrites,
  type LedgerFixture,
  ok,
  refused,
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

async function funded(amount: bigint, options: { overdraftLimit?: bigint } = {}): Promise<string> {
  const accountId = await fixture.account(options);
  if (amount > 0n) ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount }));
  return accountId;
}

async function state(accountId: string) {
  const [balance] = await fixture.ledger.accountBalances(fixture.tenantId, [accountId]);
  if (!balance) throw new Error(`No account ${accountId}`);
  return { balance: balance.balance, available: balance.available, held: balance.account.held };
}

async function holdRow(holdId: string): Promise<CreditHold> {
  const hold = await fixture.database.read.creditHold.findUnique({ where: { id: holdId } });
  if (!hold) throw new Error(`No hold ${holdId}`);
  return hold;
}

async function actionsOf(holdId: string) {
  return fixture.database.read.creditAction.findMany({ where: { holdId }, orderBy: { id: "asc" } });
}

describe("authorize", () => {
  it("reserves credits: available goes down, the balance does not, and a HOLD action without an entry records it", async () => {
    const accountId = await funded(100n);
    const expiresAt = new Date(fixture.now().getTime() + day);
    const result = ok(
      await fixture.ledger.authorize(fixture.tenantId, {
        accountId,
        amount: 60n,
        expiresAt,
        note: "Order 1001",
        externalReference: "order:1001",
      }),
    );
    expect(result.replayed).toBe(false);
    expect(result.hold).toMatchObject({ accountId, state: "PENDING", amount: 60n, capturedAmount: 0n, closedAt: null });
    expect(result.hold.expiresAt?.toISOString()).toBe(expiresAt.toISOString());
    expect(result.action).toMatchObject({
      type: "HOLD",
      amount: 60n,
      currency: "PTS",
      holdId: result.hold.id,
      sourceAccountId: null,
      targetAccountId: null,
      note: "Order 1001",
      externalReference: "order:1001",
    });
    expect(result.entries).toEqual([]);
    expect(result.accounts.map((account) => [account.id, account.held, account.balance])).toEqual([
      [accountId, 60n, 100n],
    ]);
    expect(await state(accountId)).toEqual({ balance: 100n, available: 40n, held: 60n });
    const entries = await fixture.database.read.creditEntry.count({ where: { accountId } });
    expect(entries).toBe(1); // the deposit's only
  });

  it("is refused with INSUFFICIENT_CREDITS beyond what is available, counting earlier holds, and writes nothing", async () => {
    const accountId = await funded(100n);
    ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 70n }));
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 31n }),
      "INSUFFICIENT_CREDITS",
      "amount",
    );
    expect(error.params).toMatchObject({ available: "30", requested: "31" });
    ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 30n }));
    expect(await state(accountId)).toEqual({ balance: 100n, available: 0n, held: 100n });
  });

  it("may reserve the unused overdraft, like a reduction", async () => {
    const accountId = await funded(0n, { overdraftLimit: 50n });
    ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 50n }));
    expect(await state(accountId)).toEqual({ balance: 0n, available: 0n, held: 50n });
  });

  it("holds back what reductions and transfers could otherwise take", async () => {
    const accountId = await funded(100n);
    const otherId = await fixture.account();
    ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 80n }));
    const reduce = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 21n }),
      "INSUFFICIENT_CREDITS",
      "amount",
    );
    expect(reduce.params.available).toBe("20");
    await expectRefusedWithoutWrites(
      fixture,
      () =>
        fixture.ledger.transfer(fixture.tenantId, {
          sourceAccountId: accountId,
          targetAccountId: otherId,
          amount: 21n,
        }),
      "INSUFFICIENT_CREDITS",
    );
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 20n }));
    expect(await state(accountId)).toEqual({ balance: 80n, available: 0n, held: 80n });
  });

  it("refuses bad arguments with their codes and writes nothing", async () => {
    const accountId = await funded(100n);
    const authorize = (input: Partial<Parameters<typeof fixture.ledger.authorize>[1]>) => () =>
      fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 10n, ...input });
    await expectRefusedWithoutWrites(fixture, authorize({ amount: 0n }), "AMOUNT_NOT_POSITIVE", "amount");
    await expectRefusedWithoutWrites(fixture, authorize({ amount: "1.5" }), "INVALID_AMOUNT", "amount");
    await expectRefusedWithoutWrites(
      fixture,
      authorize({ expiresAt: fixture.now() }),
      "INVALID_EXPIRES_AT",
      "expiresAt",
    );
    await expectRefusedWithoutWrites(
      fixture,
      authorize({ expiresAt: new Date(Number.NaN) }),
      "INVALID_EXPIRES_AT",
      "expiresAt",
    );
    await expectRefusedWithoutWrites(
      fixture,
      authorize({ effectiveAt: new Date(fixture.now().getTime() - day) }),
      "INVALID_EFFECTIVE_AT",
      "effectiveAt",
    );
    await expectRefusedWithoutWrites(fixture, authorize({ accountId: "nope" }), "ACCOUNT_NOT_FOUND", "accountId");
    await expectRefusedWithoutWrites(fixture, authorize({ note: "x".repeat(1001) }), "NOTE_TOO_LONG", "note");
    await expectRefusedWithoutWrites(fixture, authorize({ storeId: "nope" }), "STORE_NOT_FOUND", "storeId");
    const emptyId = await fixture.account();
    ok(await fixture.ledger.closeAccount(fixture.tenantId, { accountId: emptyId }));
    await expectRefusedWithoutWrites(fixture, authorize({ accountId: emptyId }), "ACCOUNT_CLOSED", "accountId");
  });
});

describe("capture", () => {
  it("takes the whole hold as a REDUCTION linked to it, spending grants in the ledger's order at capture time", async () => {
    const accountId = await funded(100n);
    const hold = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 60n })).hold;
    // A grant deposited after the authorization, with a lower priority, is spent first at capture.
    const early = ok(
      await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 40n, grant: { priority: 10 } }),
    ).grants[0]!;
    fixture.advance(1000);
    const result = ok(await fixture.ledger.capture(fixture.tenantId, { holdId: hold.id, note: "Shipped" }));
    expect(result.action).toMatchObject({
      type: "REDUCTION",
      amount: 60n,
      sourceAccountId: accountId,
      holdId: hold.id,
      note: "Shipped",
    });
    expect(result.entries).toHaveLength(1);
    expect(result.entries[0]).toMatchObject({ direction: "DEBIT", balanceBefore: 140n, balanceAfter: 80n });
    expect(result.hold).toMatchObject({ state: "CAPTURED", amount: 60n, capturedAmount: 60n });
    expect(result.hold.closedAt?.toISOString()).toBe(fixture.now().toISOString());
    const allocations = await fixture.database.read.creditAllocation.findMany({
      where: { actionId: result.action.id },
    });
    expect(allocations.find((allocation) => allocation.grantId === early.id)?.amount).toBe(40n);
    expect(await state(accountId)).toEqual({ balance: 80n, available: 80n, held: 0n });
    expect((await actionsOf(hold.id)).map((action) => action.type)).toEqual(["HOLD", "REDUCTION"]);
  });

  it("takes part of the hold and releases the rest", async () => {
    const accountId = await funded(100n);
    const hold = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 50n })).hold;
    const result = ok(await fixture.ledger.capture(fixture.tenantId, { holdId: hold.id, amount: 30n }));
    expect(result.action.amount).toBe(30n);
    expect(result.hold).toMatchObject({ state: "CAPTURED", amount: 50n, capturedAmount: 30n });
    expect(await state(accountId)).toEqual({ balance: 70n, available: 70n, held: 0n });
  });

  it("refuses more than the hold (CAPTURE_EXCEEDS_HOLD), a hold no longer pending, and bad arguments, writing nothing", async () => {
    const accountId = await funded(100n);
    const hold = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 50n })).hold;
    const exceeds = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.capture(fixture.tenantId, { holdId: hold.id, amount: 51n }),
      "CAPTURE_EXCEEDS_HOLD",
      "amount",
    );
    expect(exceeds.params).toEqual({ held: "50", requested: "51" });
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.capture(fixture.tenantId, { holdId: hold.id, amount: 0n }),
      "AMOUNT_NOT_POSITIVE",
      "amount",
    );
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.capture(fixture.tenantId, { holdId: "nope" }),
      "HOLD_NOT_FOUND",
      "holdId",
    );
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.capture(fixture.tenantId, { holdId: hold.id, effectiveAt: new Date(0) }),
      "INVALID_EFFECTIVE_AT",
      "effectiveAt",
    );
    ok(await fixture.ledger.capture(fixture.tenantId, { holdId: hold.id }));
    const again = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.capture(fixture.tenantId, { holdId: hold.id }),
      "HOLD_NOT_PENDING",
      "holdId",
    );
    expect(again.params).toEqual({ state: "CAPTURED" });
    const release = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.release(fixture.tenantId, { holdId: hold.id }),
      "HOLD_NOT_PENDING",
      "holdId",
    );
    expect(release.params).toEqual({ state: "CAPTURED" });
  });

  it("is refused with INSUFFICIENT_CREDITS when the credits it reserved lapsed meanwhile", async () => {
    const accountId = await fixture.account();
    ok(
      await fixture.ledger.deposit(fixture.tenantId, {
        accountId,
        amount: 100n,
        grant: { expiresAt: new Date(fixture.now().getTime() + day) },
      }),
    );
    const hold = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 60n })).hold;
    fixture.advance(2 * day);
    // The grant's expiry is recorded by the capture's own settling, then rolled back with the refusal.
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.capture(fixture.tenantId, { holdId: hold.id }),
      "INSUFFICIENT_CREDITS",
      "amount",
    );
    expect(await state(accountId)).toEqual({ balance: 0n, available: 0n, held: 60n });
    ok(await fixture.ledger.release(fixture.tenantId, { holdId: hold.id }));
  });

  it("does not see another tenant's hold", async () => {
    const accountId = await funded(100n);
    const hold = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 50n })).hold;
    const other = ok(await fixture.ledger.createTenant({ name: "Other", timeZone: "UTC", defaultLocale: "en" })).tenant;
    refused(await fixture.ledger.capture(other.id, { holdId: hold.id }), "HOLD_NOT_FOUND", "holdId");
    refused(await fixture.ledger.release(other.id, { holdId: hold.id }), "HOLD_NOT_FOUND", "holdId");
    expect((await holdRow(hold.id)).state).toBe("PENDING");
  });
});

describe("release", () => {
  it("voids the hold: its credits are available again, through a HOLD_RELEASE action without an entry", async () => {
    const accountId = await funded(100n);
    const hold = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 50n })).hold;
    const result = ok(await fixture.ledger.release(fixture.tenantId, { holdId: hold.id, note: "Order cancelled" }));
    expect(result.action).toMatchObject({
      type: "HOLD_RELEASE",
      amount: 50n,
      holdId: hold.id,
      note: "Order cancelled",
    });
    expect(result.entries).toEqual([]);
    expect(result.hold).toMatchObject({ state: "RELEASED", capturedAmount: 0n });
    expect(await state(accountId)).toEqual({ balance: 100n, available: 100n, held: 0n });
    const again = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.release(fixture.tenantId, { holdId: hold.id }),
      "HOLD_NOT_PENDING",
      "holdId",
    );
    expect(again.params).toEqual({ state: "RELEASED" });
  });

  it("must come before an account with a pending hold can close", async () => {
    const accountId = await funded(0n, { overdraftLimit: 50n });
    const hold = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 20n })).hold;
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.closeAccount(fixture.tenantId, { accountId }),
      "ACCOUNT_NOT_EMPTY",
      "accountId",
    );
    expect(error.params).toEqual({ held: "20" });
    ok(await fixture.ledger.release(fixture.tenantId, { holdId: hold.id }));
    ok(await fixture.ledger.closeAccount(fixture.tenantId, { accountId }));
  });
});

describe("credits pending holds rely on", () => {
  it("may not leave through a void, an expiry moved into the past or a lower overdraft limit (CREDITS_HELD)", async () => {
    const accountId = await fixture.account({ overdraftLimit: 10n });
    const grant = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n })).grants[0]!;
    ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 105n }));
    const voided = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.voidGrant(fixture.tenantId, { grantId: grant.id }),
      "CREDITS_HELD",
      "grantId",
    );
    expect(voided.params).toEqual({ held: "105", covered: "10", currency: "PTS" });
    fixture.advance(60_000);
    await expectRefusedWithoutWrites(
      fixture,
      () =>
        fixture.ledger.changeGrantExpiry(fixture.tenantId, {
          grantId: grant.id,
          expiresAt: new Date(fixture.now().getTime() - 1000),
        }),
      "CREDITS_HELD",
      "expiresAt",
    );
    const lowered = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.updateAccount(fixture.tenantId, { accountId, overdraftLimit: 0n }),
      "CREDITS_HELD",
      "overdraftLimit",
    );
    expect(lowered.params).toEqual({ held: "105", covered: "100", currency: "PTS" });
    expect(await state(accountId)).toEqual({ balance: 100n, available: 5n, held: 105n });
  });

  it("judges a lower overdraft limit on the balance after the grants that lapsed meanwhile", async () => {
    const accountId = await fixture.account({ overdraftLimit: 50n });
    ok(
      await fixture.ledger.deposit(fixture.tenantId, {
        accountId,
        amount: 100n,
        grant: { expiresAt: new Date(fixture.now().getTime() + day) },
      }),
    );
    ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 40n }));
    fixture.advance(2 * day);
    // Unsettled, the balance would still read 100 and 30 of overdraft would look like enough.
    const error = await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.updateAccount(fixture.tenantId, { accountId, overdraftLimit: 30n }),
      "CREDITS_HELD",
      "overdraftLimit",
    );
    expect(error.params).toMatchObject({ held: "40", covered: "30" });
    const account = ok(
      await fixture.ledger.updateAccount(fixture.tenantId, { accountId, overdraftLimit: 40n }),
    ).account;
    expect([account.balance, account.overdraftLimit, account.held]).toEqual([0n, 40n, 40n]);
  });
});

describe("expiry", () => {
  it("releases a hold at its expiry, recorded before any read shows the account (never stale)", async () => {
    const accountId = await funded(100n);
    const expiresAt = new Date(fixture.now().getTime() + day);
    const initiator = { type: "USER" as const, id: "clerk-17" };
    const hold = ok(
      await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 60n, expiresAt, initiator }),
    ).hold;
    const [account] = await fixture.database.read.creditAccount.findMany({ where: { id: accountId } });
    expect(account?.nextLapseAt?.toISOString()).toBe(expiresAt.toISOString());
    fixture.advance(day - 1);
    expect(await state(accountId)).toEqual({ balance: 100n, available: 40n, held: 60n });
    fixture.advance(1);
    // No job has run: the read itself records the expiry.
    expect(await state(accountId)).toEqual({ balance: 100n, available: 100n, held: 0n });
    const expired = await holdRow(hold.id);
    expect(expired).toMatchObject({ state: "EXPIRED", capturedAmount: 0n });
    expect(expired.closedAt?.toISOString()).toBe(expiresAt.toISOString());
    const actions = await actionsOf(hold.id);
    expect(actions.map((action) => [action.type, action.amount, action.initiatorType])).toEqual([
      ["HOLD", 60n, "USER"],
      ["HOLD_EXPIRATION", 60n, "SYSTEM"],
    ]);
    expect(actions[1]?.effectiveAt.toISOString()).toBe(expiresAt.toISOString());
    const after = await fixture.database.read.creditAccount.findMany({ where: { id: accountId } });
    expect(after[0]?.nextLapseAt).toBeNull();
  });

  it("is recorded by the next write too, and a hold past its expiry cannot be captured or released", async () => {
    const accountId = await funded(100n);
    const hold = ok(
      await fixture.ledger.authorize(fixture.tenantId, {
        accountId,
        amount: 100n,
        expiresAt: new Date(fixture.now().getTime() + day),
      }),
    ).hold;
    fixture.advance(day);
    for (const attempt of [
      () => fixture.ledger.capture(fixture.tenantId, { holdId: hold.id }),
      () => fixture.ledger.release(fixture.tenantId, { holdId: hold.id }),
    ]) {
      const error = await expectRefusedWithoutWrites(fixture, attempt, "HOLD_NOT_PENDING", "holdId");
      expect(error.params).toEqual({ state: "EXPIRED" });
    }
    // The reduction settles the expiry first, so the whole balance is available to it.
    const reduction = ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 100n }));
    expect(reduction.settled.map((action) => [action.type, action.holdId])).toEqual([["HOLD_EXPIRATION", hold.id]]);
    expect((await holdRow(hold.id)).state).toBe("EXPIRED");
    expect(await balanceOf(fixture, accountId)).toBe(0n);
  });

  it("keeps next_lapse_at at the earliest of grant expiries and pending hold expiries", async () => {
    const accountId = await fixture.account();
    const inTwoDays = new Date(fixture.now().getTime() + 2 * day);
    const inOneDay = new Date(fixture.now().getTime() + day);
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n, grant: { expiresAt: inTwoDays } }));
    const hold = ok(
      await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 10n, expiresAt: inOneDay }),
    ).hold;
    const nextLapse = async () =>
      (await fixture.database.read.creditAccount.findUnique({ where: { id: accountId } }))?.nextLapseAt?.toISOString();
    expect(await nextLapse()).toBe(inOneDay.toISOString());
    ok(await fixture.ledger.release(fixture.tenantId, { holdId: hold.id }));
    expect(await nextLapse()).toBe(inTwoDays.toISOString());
  });
});

describe("idempotency", () => {
  it("answers a retried authorize, capture and release from the original, and refuses a key reused for another request", async () => {
    const accountId = await funded(100n);
    const first = ok(
      await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 40n, idempotencyKey: "hold-1" }),
    );
    const again = ok(
      await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 40n, idempotencyKey: "hold-1" }),
    );
    expect(again.replayed).toBe(true);
    expect(again.action.id).toBe(first.action.id);
    expect(again.hold.id).toBe(first.hold.id);
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 41n, idempotencyKey: "hold-1" }),
      "IDEMPOTENCY_KEY_REUSED",
      "idempotencyKey",
    );
    expect(await state(accountId)).toEqual({ balance: 100n, available: 60n, held: 40n });

    const captured = ok(
      await fixture.ledger.capture(fixture.tenantId, { holdId: first.hold.id, amount: 10n, idempotencyKey: "cap-1" }),
    );
    // The retry arrives after the hold was captured: it is answered from the capture, not refused.
    const replayed = ok(
      await fixture.ledger.capture(fixture.tenantId, { holdId: first.hold.id, amount: 10n, idempotencyKey: "cap-1" }),
    );
    expect(replayed).toMatchObject({ replayed: true, action: { id: captured.action.id } });
    expect(replayed.hold).toMatchObject({ id: first.hold.id, state: "CAPTURED", capturedAmount: 10n });
    expect(replayed.entries.map((entry) => entry.balanceAfter)).toEqual([90n]);

    const second = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 5n })).hold;
    const released = ok(await fixture.ledger.release(fixture.tenantId, { holdId: second.id, idempotencyKey: "rel-1" }));
    const releasedAgain = ok(
      await fixture.ledger.release(fixture.tenantId, { holdId: second.id, idempotencyKey: "rel-1" }),
    );
    expect(releasedAgain).toMatchObject({ replayed: true, action: { id: released.action.id } });
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.release(fixture.tenantId, { holdId: first.hold.id, idempotencyKey: "rel-1" }),
      "IDEMPOTENCY_KEY_REUSED",
      "idempotencyKey",
    );
    expect(await state(accountId)).toEqual({ balance: 90n, available: 90n, held: 0n });
  });
});

describe("verify", () => {
  it("reports an account whose held amount differs from its pending holds, and a hold missing its transition", async () => {
    const accountId = await funded(100n);
    const hold = ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 40n })).hold;
    await fixture.database.transaction((tx) =>
      tx.execute(sql`UPDATE credit_account SET held = 39 WHERE id = ${accountId}`),
    );
    await fixture.database.transaction((tx) =>
      tx.execute(sql`UPDATE credit_hold SET state = ${"RELEASED"}, closed_at = created_at WHERE id = ${hold.id}`),
    );
    const problems = await fixture.ledger.verify({ tenantId: fixture.tenantId });
    expect(problems.map((problem) => [problem.kind, problem.id])).toEqual(
      expect.arrayContaining([
        ["held", accountId],
        ["hold-actions", hold.id],
      ]),
    );
    // Put it right again, for the verification after the test.
    await fixture.database.transaction((tx) =>
      tx.execute(sql`UPDATE credit_hold SET state = ${"PENDING"}, closed_at = NULL WHERE id = ${hold.id}`),
    );
    await fixture.database.transaction((tx) =>
      tx.execute(sql`UPDATE credit_account SET held = 40 WHERE id = ${accountId}`),
    );
  });
});

describe("concurrency", () => {
  it("lets exactly 10 of 60 concurrent authorizes and reductions of 10 through on an account holding 100", async () => {
    const accountId = await funded(100n);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, index) =>
        index % 2 === 0
          ? fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 10n })
          : fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 10n }),
      ),
    );
    const codes = results.map((result) => (result.ok ? "OK" : result.error.code));
    expect(codes.filter((code) => code === "OK")).toHaveLength(10);
    expect(codes.filter((code) => code === "INSUFFICIENT_CREDITS")).toHaveLength(50);
    const holds = results.filter((result, index) => result.ok && index % 2 === 0).length;
    const after = await state(accountId);
    expect(after.available).toBe(0n);
    expect(after.held).toBe(BigInt(holds) * 10n);
    expect(after.balance).toBe(100n - BigInt(10 - holds) * 10n);
  });

  it("closes a hold exactly once when captures, releases and its expiry race", async () => {
    const accountId = await funded(1000n);
    const expiresAt = new Date(fixture.now().getTime() + day);
    const holds = [];
    for (let index = 0; index < 6; index++) {
      holds.push(ok(await fixture.ledger.authorize(fixture.tenantId, { accountId, amount: 100n, expiresAt })).hold.id);
    }
    // Three holds race before their expiry (capture against release), three at it (both against the job).
    const racing = async (holdId: string) =>
      Promise.all([
        fixture.ledger.capture(fixture.tenantId, { holdId }),
        fixture.ledger.release(fixture.tenantId, { holdId }),
        fixture.ledger.capture(fixture.tenantId, { holdId, amount: 50n }),
        fixture.ledger.settleDue({ tenantId: fixture.tenantId }),
      ]);
    const before = await Promise.all(holds.slice(0, 3).map(racing));
    for (const [index, [first, second, third]] of before.entries()) {
      const outcomes = [first, second, third];
      expect(outcomes.filter((result) => result.ok)).toHaveLength(1);
      for (const result of outcomes.filter((candidate) => !candidate.ok)) {
        expect(refused(result, "HOLD_NOT_PENDING").params.state).toBe((await holdRow(holds[index]!)).state);
      }
    }
    fixture.advance(day);
    const at = await Promise.all(holds.slice(3).map(racing));
    for (const [first, second, third] of at) {
      for (const result of [first, second, third])
        expect(refused(result, "HOLD_NOT_PENDING").params.state).toBe("EXPIRED");
    }
    for (const holdId of holds) {
      const hold = await holdRow(holdId);
      const transitions = (await actionsOf(holdId)).map((action) => action.type);
      expect(transitions).toHaveLength(2);
      expect(transitions[0]).toBe("HOLD");
      expect(hold.state).toBe(
        { REDUCTION: "CAPTURED", HOLD_RELEASE: "RELEASED", HOLD_EXPIRATION: "EXPIRED" }[transitions[1] as string],
      );
    }
    expect((await state(accountId)).held).toBe(0n);
  });
});
