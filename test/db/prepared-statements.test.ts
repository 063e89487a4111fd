// Prepared statements on PostgreSQL (src/db/pool.ts): a statement with parameters is prepared once per
// connection under a process-wide name, and planned once (a generic plan); DATABASE_PREPARED_STATEMENTS=false turns that off (PgBouncer before
// 1.21); and a migration that changes a table's columns under a prepared `SELECT *` costs one attempt, not
// the connection: the error counts as a database fault, the connection is discarded, the next one prepares
// afresh. SQLite has no such thing; the file is skipped there.
import { afterEach, describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../../src/db/faults.ts";
import { sql } from "../../src/db/sql.ts";
import { createTestDatabase, type TestDatabase, testEngine } from "../support/database.ts";

let testDatabase: TestDatabase | undefined;

afterEach(async () => {
  await testDatabase?.drop();
  testDatabase = undefined;
});

/** The prepared statements of the pool's only connection (poolSize 1), by their text. */
async function preparedStatements(database: TestDatabase["database"]): Promise<string[]> {
  const rows = await database.reader.query<{ name: string; statement: string }>(
    sql`SELECT name, statement FROM pg_prepared_statements WHERE name LIKE ${"ledger\\_%"} ORDER BY name`,
  );
  return rows.map((row) => row.statement);
}

describe.skipIf(testEngine !== "postgres")("prepared statements", () => {
  it("prepares a statement with parameters once per connection and reuses it", async () => {
    testDatabase = await createTestDatabase({ poolSize: 1 });
    const { database } = testDatabase;
    for (let run = 0; run < 3; run++) {
      const rows = await database.reader.query<{ total: bigint }>(
        sql`SELECT COUNT(*) AS total FROM tenant WHERE id = ${"x"}`,
      );
      expect(rows).toEqual([{ total: 0n }]);
    }
    const prepared = await preparedStatements(database);
    expect(prepared.filter((text) => text.includes("FROM tenant WHERE id = $1"))).toHaveLength(1);
  });

  it("plans a prepared statement once per connection, not at every execution (a generic plan)", async () => {
    testDatabase = await createTestDatabase({ poolSize: 1 });
    const { database } = testDatabase;
    // Ids in an `= ANY` list: left to choose, PostgreSQL planned such statements anew at every execution.
    for (let run = 0; run < 8; run++) {
      await database.reader.query(sql`SELECT id FROM tenant WHERE id = ANY(CAST(${[`t${run}`]} AS text[]))`);
    }
    const [plans] = await database.reader.query<{ generic: bigint; custom: bigint }>(
      sql`SELECT generic_plans AS generic, custom_plans AS custom FROM pg_prepared_statements
        WHERE statement LIKE ${"SELECT id FROM tenant WHERE id = ANY%"}`,
    );
    expect(plans).toEqual({ generic: 8n, custom: 0n });
  });

  it("prepares nothing when turned off, and leaves planning to PostgreSQL", async () => {
    testDatabase = await createTestDatabase({ poolSize: 1, preparedStatements: false });
    const { database } = testDatabase;
    await database.reader.query(sql`SELECT COUNT(*) AS total FROM tenant WHERE id = ${"x"}`);
    await database.reader.query(sql`SELECT COUNT(*) AS total FROM tenant WHERE id = ${"x"}`);
    expect(await preparedStatements(database)).toEqual([]);
    const [setting] = await database.reader.query<{ mode: string }>(
      sql`SELECT current_setting('plan_cache_mode') AS mode`,
    );
    expect(setting).toEqual({ mode: "auto" });
  });

  it("survives a migration that adds a column under a prepared SELECT *: one fault, then fresh statements", async () => {
    testDatabase = await createTestDatabase({ poolSize: 1 });
    const { database } = testDatabase;
    await database.reader.execute(sql`CREATE TABLE prepared_probe (id text PRIMARY KEY)`);
    await database.reader.execute(sql`INSERT INTO prepared_probe (id) VALUES (${"a"})`);
    const read = () =>
      database.reader.query<Record<string, unknown>>(sql`SELECT * FROM prepared_probe WHERE id = ${"a"}`);
    expect(await read()).toEqual([{ id: "a" }]);
    // What a newer instance's migration does while this one serves.
    await database.reader.execute(sql`ALTER TABLE prepared_probe ADD COLUMN note text`);
    const failure = await read().then(
      () => null,
      (error: unknown) => error,
    );
    // PostgreSQL refuses the stale prepared statement once; that must read as a retryable database fault.
    expect(failure).not.toBeNull();
    expect(isDatabaseUnavailable(failure)).toBe(true);
    // The next attempt is served on a fresh connection.
    expect(await read()).toEqual([{ id: "a", note: null }]);
  });
});
