// Ledger fixtures for tests: a fresh database with a ledger on a clock the test moves, a tenant and helpers
// to open accounts, unwrap results, and prove that a refused operation wrote nothing.
import { expect } from "vitest";
import type { Database } from "../../src/db/client.ts";
import { createLedger, type Ledger, type LedgerErrorCode, type LedgerResult } from "../../src/ledger/index.ts";
import type { TransactionSettings } from "../../src/ledger/transaction.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

export interface LedgerFixture {
  testDatabase: TestDatabase;
  database: Database;
  ledger: Ledger;
  tenantId: string;
  /** The ledger's current time; move it with `advance`. */
  now(): Date;
  advance(milliseconds: number): void;
  /** A new customer with one open account in the currency (PTS by default). */
  account(options?: {
    currency?: string;
    overdraftLimit?: bigint;
    customerId?: string;
    name?: string;
  }): Promise<string>;
  customer(externalId?: string): Promise<string>;
  /** Asserts that the tenant's ledger verifies clean. */
  verifyClean(): Promise<void>;
  drop(): Promise<void>;
}

export const startOfTest = new Date("2026-03-01T10:00:00.000Z");

export async function createLedgerFixture(
  options: { transactions?: Partial<TransactionSettings>; poolSize?: number; sqliteBusyTimeoutMs?: number } = {},
): Promise<LedgerFixture> {
  const testDatabase = await createTestDatabase({
    poolSize: options.poolSize ?? 10,
    sqliteBusyTimeoutMs: options.sqliteBusyTimeoutMs,
  });
  let current = startOfTest.getTime();
  const ledger = createLedger(testDatabase.database, {
    clock: () => new Date(current),
    transactions: options.transactions,
  });
  const tenant = ok(
    await ledger.createTenant({ name: "Test tenant", timeZone: "Europe/Prague", defaultLocale: "cs" }),
  ).tenant;
  let customers = 0;
  const customer = async (externalId?: string) =>
    ok(
      await ledger.createCustomer(tenant.id, {
        externalId: externalId ?? `customer-${++customers}`,
        name: "Jana Nováková",
      }),
    ).customer.id;
  return {
    testDatabase,
    database: testDatabase.database,
    ledger,
    tenantId: tenant.id,
    now: () => new Date(current),
    advance: (milliseconds) => {
      current += milliseconds;
    },
    customer,
    account: async ({ currency = "PTS", overdraftLimit, customerId, name = "Points" } = {}) =>
      ok(
        await ledger.openAccount(tenant.id, {
          customerId: customerId ?? (await customer()),
          name,
          currency,
          overdraftLimit: overdraftLimit ?? 0n,
        }),
      ).account.id,
    verifyClean: async () => {
      expect(await ledger.verify({ tenantId: tenant.id })).toEqual([]);
    },
    drop: () => testDatabase.drop(),
  };
}

/** Unwraps a successful result; fails the test with the error otherwise. */
export function ok<T>(result: LedgerResult<T>): { ok: true } & T {
  if (!result.ok) throw new Error(`Expected success, got ${result.error.code}: ${result.error.message}`);
  return result;
}

/** Asserts a refusal with this code (and field, when given) and returns the error. */
export function refused<T>(result: LedgerResult<T>, code: LedgerErrorCode, field?: string | null) {
  if (result.ok) throw new Error(`Expected ${code}, but the operation succeeded.`);
  expect(result.error.code).toBe(code);
  if (field !== undefined) expect(result.error.field).toBe(field);
  expect(result.error.message.length).toBeGreaterThan(10);
  return result.error;
}

/** Every row of every ledger table, to compare before and after a refused operation. */
export async function snapshot(database: Database): Promise<string> {
  const db = database.read;
  const tables = await Promise.all([
    db.tenant.findMany({ orderBy: { id: "asc" } }),
    db.customer.findMany({ orderBy: { id: "asc" } }),
    db.creditAccount.findMany({ orderBy: { id: "asc" } }),
    db.creditGrant.findMany({ orderBy: { id: "asc" } }),
    db.creditAction.findMany({ orderBy: { id: "asc" } }),
    db.creditEntry.findMany({ orderBy: { id: "asc" } }),
    db.creditAllocation.findMany({ orderBy: [{ actionId: "asc" }, { grantId: "asc" }] }),
    db.creditHold.findMany({ orderBy: { id: "asc" } }),
    db.creditBatch.findMany({ orderBy: { id: "asc" } }),
    db.creditBatchItem.findMany({ orderBy: [{ batchId: "asc" }, { position: "asc" }] }),
    db.store.findMany({ orderBy: { id: "asc" } }),
    db.partner.findMany({ orderBy: { id: "asc" } }),
  ]);
  return JSON.stringify(tables, (_key, value) => (typeof value === "bigint" ? `${value}n` : value));
}

/** Runs the operation and asserts that it was refused with the code and that no row changed anywhere. */
export async function expectRefusedWithoutWrites<T>(
  fixture: LedgerFixture,
  operation: () => Promise<LedgerResult<T>>,
  code: LedgerErrorCode,
  field?: string | null,
) {
  const before = await snapshot(fixture.database);
  const error = refused(await operation(), code, field);
  expect(await snapshot(fixture.database)).toBe(before);
  return error;
}

export async function balanceOf(fixture: LedgerFixture, accountId: string): Promise<bigint> {
  const [balance] = await fixture.ledger.accountBalances(fixture.tenantId, [accountId]);
  if (!balance) throw new Error(`No account ${accountId}`);
  return balance.balance;
}
