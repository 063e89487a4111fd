// The raw-SQL runner (src/db/sql.ts) must hand back exactly what the Prisma client would: the same keys and
// the same decoded values (bigint amounts, number sequences, Date times, enum names, nulls), on both engines.
// Every table is read both ways and compared, so a column the decoding conventions miss fails here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { join, raw, sql } from "../../src/db/sql.ts";
import { createLedger } from "../../src/ledger/index.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let testDatabase: TestDatabase;

async function must<T extends { ok: boolean }>(result: Promise<T>): Promise<T & { ok: true }> {
  const value = await result;
  if (!value.ok) throw new Error(JSON.stringify(value));
  return value as T & { ok: true };
}

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  const ledger = createLedger(testDatabase.database);
  const tenant = (await must(ledger.createTenant({ name: "Rows", timeZone: "Europe/Prague" }))).tenant;
  await createApiKey(testDatabase.database, {
    tenantId: tenant.id,
    name: "k",
    scopes: ["read"],
    expiresAt: new Date("2030-01-01T00:00:00Z"),
  });
  const store = (await must(ledger.createStore(tenant.id, { name: "Shop", externalId: "s1" }))).store;
  const partner = (await must(ledger.createPartner(tenant.id, { name: "Partner" }))).partner;
  const customer = (
    await must(ledger.createCustomer(tenant.id, { externalId: "c1", name: "Žofie", email: "z@example.com" }))
  ).customer;
  const open = (name: string, overdraftLimit: bigint) =>
    must(ledger.openAccount(tenant.id, { customerId: customer.id, name, currency: "PTS", overdraftLimit })).then(
      (result) => result.account,
    );
  const a = await open("a", 0n);
  const b = await open("b", 100n);
  await must(
    ledger.deposit(tenant.id, { accountId: a.id, amount: 9_007_199_254_740_993n, note: "Big", storeId: store.id }),
  );
  await must(
    ledger.deposit(tenant.id, {
      accountId: a.id,
      amount: 5n,
      grant: { expiresAt: new Date("2031-01-01T00:00:00Z"), priority: 3, category: "PROMOTIONAL" },
    }),
  );
  await must(
    ledger.transfer(tenant.id, { sourceAccountId: a.id, targetAccountId: b.id, amount: 7n, partnerId: partner.id }),
  );
  await must(ledger.reduce(tenant.id, { accountId: b.id, amount: 50n }));
});

afterAll(async () => {
  await testDatabase?.drop();
});

const tables = [
  ["tenant", "tenant", "id"],
  ["apiKey", "api_key", "id"],
  ["customer", "customer", "id"],
  ["creditAccount", "credit_account", "id"],
  ["creditGrant", "credit_grant", "id"],
  ["creditAction", "credit_action", "id"],
  ["creditEntry", "credit_entry", "id"],
  ["creditAllocation", "credit_allocation", "action_id, grant_id"],
  ["store", "store", "id"],
  ["partner", "partner", "id"],
] as const;

describe("rows read through the driver adapter", () => {
  it.each(tables)("%s: the same objects as the Prisma client's", async (model, table, order) => {
    const { database } = testDatabase;
    const rawRows = await database.reader.query<Record<string, unknown>>(
      sql`SELECT * FROM ${raw(table)} ORDER BY ${raw(order)}`,
    );
    const delegate = database.read[model] as unknown as { findMany(args: object): Promise<Record<string, unknown>[]> };
    const orderBy = order
      .split(", ")
      .map((column) => ({ [column.replace(/_([a-z])/g, (_m, letter: string) => letter.toUpperCase())]: "asc" }));
    const prismaRows = await delegate.findMany({ orderBy });
    expect(rawRows.length).toBeGreaterThan(0);
    expect(rawRows).toEqual(prismaRows);
  });

  it("binds lists, bigints beyond 2^53 and times as parameters", async () => {
    const { database } = testDatabase;
    const rows = await database.reader.query<{ amount: bigint; effectiveAt: Date }>(sql`
      SELECT amount, effective_at FROM credit_entry
      WHERE amount IN (${join([9_007_199_254_740_993n, 1n])}) AND effective_at > ${new Date("2000-01-01T00:00:00Z")}`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.amount).toBe(9_007_199_254_740_993n);
    expect(rows[0]!.effectiveAt).toBeInstanceOf(Date);
  });

  it("rolls a failed transaction back and serves the next one", async () => {
    const { database } = testDatabase;
    const before = await database.reader.query<{ total: bigint }>(sql`SELECT COUNT(*) AS total FROM store`);
    await expect(
      database.transaction(async (tx) => {
        await tx.execute(sql`UPDATE store SET name = 'Changed'`);
        throw new Error("abandon");
      }),
    ).rejects.toThrow("abandon");
    const names = await database.reader.query<{ name: string }>(sql`SELECT name FROM store`);
    expect(names.map((row) => row.name)).toEqual(["Shop"]);
    const changed = await database.transaction((tx) => tx.execute(sql`UPDATE store SET name = name`));
    expect(changed).toBe(Number(before[0]!.total));
  });
});
