// Checks the test harness itself on the engine under test: the migrations ran, test databases are empty
// and isolated, 64-bit amounts survive the round trip, and the schema's constraints are enforced.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, testEngine } from "./support/database.ts";

const expectedTables = [
  "tenant",
  "customer",
  "credit_account",
  "credit_grant",
  "credit_action",
  "credit_entry",
  "credit_allocation",
  "store",
  "partner",
  "api_key",
];

const int64Max = 9223372036854775807n;
const int64Min = -9223372036854775808n;

describe(`test databases on ${testEngine}`, () => {
  let first: TestDatabase;
  let second: TestDatabase;
  let queriesSeenByFirst = 0;

  beforeAll(async () => {
    [first, second] = await Promise.all([
      createTestDatabase({ onQuery: () => void queriesSeenByFirst++ }),
      createTestDatabase(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([first?.drop(), second?.drop()]);
  });

  it("opens the engine under test", () => {
    expect(first.database.engine).toBe(testEngine);
    expect(second.url).not.toBe(first.url);
  });

  it("has every table of the migrations, and the migrations are recorded as applied", async () => {
    const tables =
      testEngine === "postgres"
        ? await first.database.read.$queryRaw<{ name: string }[]>`
            SELECT table_name::text AS name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
        : await first.database.read.$queryRaw<{ name: string }[]>`
            SELECT name FROM sqlite_master WHERE type = 'table'`;
    expect(tables.map((table) => table.name)).toEqual(
      expect.arrayContaining([...expectedTables, "_prisma_migrations"]),
    );

    const migrations = await first.database.read.$queryRaw<
      { finished: number | bigint | boolean; rolledBack: number | bigint | boolean }[]
    >`
      SELECT finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS "rolledBack" FROM _prisma_migrations`;
    expect(migrations.length).toBeGreaterThan(0);
    for (const migration of migrations) {
      expect(Boolean(Number(migration.finished))).toBe(true);
      expect(Boolean(Number(migration.rolledBack))).toBe(false);
    }
  });

  it("starts empty", async () => {
    const { read } = first.database;
    const counts = await Promise.all([
      read.tenant.count(),
      read.customer.count(),
      read.creditAccount.count(),
      read.creditGrant.count(),
      read.creditAction.count(),
      read.creditEntry.count(),
      read.creditAllocation.count(),
      read.store.count(),
      read.partner.count(),
      read.apiKey.count(),
    ]);
    expect(counts).toEqual(expectedTables.map(() => 0));
  });

  it("passes options through to openDatabase", () => {
    expect(queriesSeenByFirst).toBeGreaterThan(0);
  });

  it("keeps two test databases apart", async () => {
    await first.database.write.tenant.create({ data: { name: "only in the first database" } });
    expect(await first.database.read.tenant.count({ where: { name: "only in the first database" } })).toBe(1);
    expect(await second.database.read.tenant.count()).toBe(0);
  });

  it("round-trips balances at the 64-bit limits exactly", async () => {
    const { write, read } = second.database;
    const tenant = await write.tenant.create({ data: { name: "limits" } });
    const customer = await write.customer.create({ data: { tenantId: tenant.id, externalId: "limits" } });
    const account = (balance: bigint) =>
      write.creditAccount.create({
        data: { tenantId: tenant.id, customerId: customer.id, name: `balance ${balance}`, currency: "PTS", balance },
      });
    const [highest, lowest] = [await account(int64Max), await account(int64Min)];

    expect(highest.balance).toBe(int64Max);
    expect(lowest.balance).toBe(int64Min);
    expect((await read.creditAccount.findUniqueOrThrow({ where: { id: highest.id } })).balance).toBe(int64Max);
    expect((await read.creditAccount.findUniqueOrThrow({ where: { id: lowest.id } })).balance).toBe(int64Min);

    // Reading the stored value as text bypasses the client's number conversion, so this proves the
    // database itself holds the exact value rather than a rounded double.
    const stored = await read.$queryRaw<{ id: string; balance: string }[]>`
      SELECT id, CAST(balance AS TEXT) AS balance FROM credit_account WHERE customer_id = ${customer.id}`;
    expect(Object.fromEntries(stored.map((row) => [row.id, row.balance]))).toEqual({
      [highest.id]: int64Max.toString(),
      [lowest.id]: int64Min.toString(),
    });
  });

  it("enforces one customer per external id within a tenant", async () => {
    const { write, read } = first.database;
    const [tenant, otherTenant] = [
      await write.tenant.create({ data: { name: "unique" } }),
      await write.tenant.create({ data: { name: "other" } }),
    ];
    await write.customer.create({ data: { tenantId: tenant.id, externalId: "C-1" } });

    await expect(write.customer.create({ data: { tenantId: tenant.id, externalId: "C-1" } })).rejects.toMatchObject({
      code: "P2002",
    });
    // The same external id is fine in another tenant: the constraint is on the pair.
    await write.customer.create({ data: { tenantId: otherTenant.id, externalId: "C-1" } });
    expect(await read.customer.count({ where: { externalId: "C-1" } })).toBe(2);
  });
});
