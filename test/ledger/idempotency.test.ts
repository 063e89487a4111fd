// Idempotency keys: a retry returns the original result marked as a replay and writes nothing; the same key
// for a different request is refused; concurrent requests with one key write one action.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  balanceOf,
  createLedgerFixture,
  expectRefusedWithoutWrites,
  type LedgerFixture,
  ok,
  snapshot,
} from "../support/ledger.ts";

let fixture: LedgerFixture;
let accountId: string;

beforeEach(async () => {
  fixture = await createLedgerFixture();
  accountId = await fixture.account();
});

afterEach(async () => {
  await fixture.verifyClean();
  await fixture.drop();
});

describe("idempotency keys", () => {
  it("answers a retry with the original result, marked as a replay, and writes nothing", async () => {
    const request = { accountId, amount: 100n, note: "order 42", idempotencyKey: "order-42-credit" };
    const first = ok(await fixture.ledger.deposit(fixture.tenantId, request));
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 30n }));
    const before = await snapshot(fixture.database);
    const again = ok(await fixture.ledger.deposit(fixture.tenantId, { ...request }));
    expect(await snapshot(fixture.database)).toBe(before);
    expect(again.replayed).toBe(true);
    expect(again.action.id).toBe(first.action.id);
    // The original result: the balance right after the deposit, not today's.
    expect(again.balances).toEqual([{ accountId, balance: 100n }]);
    expect(again.grants.map((grant) => grant.id)).toEqual(first.grants.map((grant) => grant.id));
    expect(await balanceOf(fixture, accountId)).toBe(70n);
  });

  it("answers a retry from the original even when the request would now be refused", async () => {
    const reduction = { accountId, amount: 60n, idempotencyKey: "spend-60" };
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n, idempotencyKey: "fund" }));
    const first = ok(await fixture.ledger.reduce(fixture.tenantId, reduction));
    // Only 40 are left, so the reduction itself would be refused; its retry is answered from the original.
    const again = ok(await fixture.ledger.reduce(fixture.tenantId, reduction));
    expect([again.replayed, again.action.id]).toEqual([true, first.action.id]);
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { ...reduction, amount: 61n }),
      "IDEMPOTENCY_KEY_REUSED",
    );
    // Even a closed account answers the retry of a write it took.
    ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 40n }));
    ok(await fixture.ledger.closeAccount(fixture.tenantId, { accountId }));
    const replayed = ok(
      await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n, idempotencyKey: "fund" }),
    );
    expect(replayed.replayed).toBe(true);
    expect(replayed.balances).toEqual([{ accountId, balance: 100n }]);
  });

  it("treats an amount given as a number or a string as the same request", async () => {
    const first = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 5, idempotencyKey: "k" }));
    const again = ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: "5", idempotencyKey: "k" }));
    expect(again.replayed).toBe(true);
    expect(again.action.id).toBe(first.action.id);
  });

  it("refuses the same key with different parameters or for another operation", async () => {
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 100n, idempotencyKey: "k1", note: "a" }));
    for (const changed of [
      { amount: 101n },
      { note: "b" },
      { note: null },
      { effectiveAt: new Date("2020-01-01T00:00:00Z") },
    ]) {
      const error = await expectRefusedWithoutWrites(
        fixture,
        () =>
          fixture.ledger.deposit(fixture.tenantId, {
            accountId,
            amount: 100n,
            idempotencyKey: "k1",
            note: "a",
            ...changed,
          }),
        "IDEMPOTENCY_KEY_REUSED",
        "idempotencyKey",
      );
      expect(error.params.idempotencyKey).toBe("k1");
    }
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 100n, idempotencyKey: "k1", note: "a" }),
      "IDEMPOTENCY_KEY_REUSED",
    );
  });

  it("scopes keys to the tenant", async () => {
    const other = ok(await fixture.ledger.createTenant({ name: "Other" })).tenant;
    const customer = ok(await fixture.ledger.createCustomer(other.id, { externalId: "c" })).customer;
    const theirs = ok(
      await fixture.ledger.openAccount(other.id, { customerId: customer.id, name: "P", currency: "PTS" }),
    ).account;
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 1n, idempotencyKey: "shared" }));
    const result = ok(
      await fixture.ledger.deposit(other.id, { accountId: theirs.id, amount: 1n, idempotencyKey: "shared" }),
    );
    expect(result.replayed).toBe(false);
    expect(await fixture.ledger.verify({ tenantId: other.id })).toEqual([]);
  });

  it("does not remember a refused request: a retry is evaluated afresh", async () => {
    await expectRefusedWithoutWrites(
      fixture,
      () => fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 10n, idempotencyKey: "later" }),
      "INSUFFICIENT_CREDITS",
    );
    ok(await fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 10n }));
    expect(
      ok(await fixture.ledger.reduce(fixture.tenantId, { accountId, amount: 10n, idempotencyKey: "later" })).replayed,
    ).toBe(false);
  });

  it("writes one action for many concurrent requests with one key", async () => {
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        fixture.ledger.deposit(fixture.tenantId, { accountId, amount: 10n, idempotencyKey: "burst" }),
      ),
    );
    const succeeded = results.map(ok);
    const ids = new Set(succeeded.map((result) => result.action.id));
    expect(ids.size).toBe(1);
    expect(succeeded.filter((result) => !result.replayed)).toHaveLength(1);
    expect(await balanceOf(fixture, accountId)).toBe(10n);
    expect(await fixture.database.read.creditAction.count({ where: { idempotencyKey: "burst" } })).toBe(1);
  });

  it("lets exactly one of concurrent requests with one key and different parameters through", async () => {
    const other = await fixture.account();
    const results = await Promise.all(
      [accountId, other, accountId, other].map((id) =>
        fixture.ledger.deposit(fixture.tenantId, { accountId: id, amount: 10n, idempotencyKey: "split" }),
      ),
    );
    const codes = results.map((result) => (result.ok ? (result.replayed ? "replay" : "written") : result.error.code));
    expect(codes.filter((code) => code === "written")).toHaveLength(1);
    expect(codes.filter((code) => code === "IDEMPOTENCY_KEY_REUSED")).toHaveLength(2);
    expect(codes.filter((code) => code === "replay")).toHaveLength(1);
  });
});
