// Prisma versions: the gateway runs @prisma/adapter-pg at exactly the Prisma client's version, and the 7.x
// adapter (installed under the alias @prisma/adapter-pg-migrate) serves only the migration CLI, which needs
// it: the 6.19 adapter cannot read the `name` columns Prisma's migration engine queries. Migrations still
// apply (the global setup runs the real `prisma migrate deploy`; every test database is a copy).
import { createRequire } from "node:module";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { sql } from "../../src/db/sql.ts";
import { createTestDatabase, type TestDatabase, testEngine } from "../support/database.ts";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fromSource = createRequire(path.join(projectRoot, "src/db/client.ts"));
/** The version of the package `name` as the gateway's source resolves it (some packages export no package.json). */
function versionOf(name: string): string {
  try {
    return (fromSource(`${name}/package.json`) as { version: string }).version;
  } catch {
    // exported no package.json: found from the package's entry point below
  }
  const entry = fromSource.resolve(name);
  const marker = `${path.sep}node_modules${path.sep}${name.split("/").join(path.sep)}${path.sep}`;
  const root = entry.slice(0, entry.lastIndexOf(marker) + marker.length);
  return (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version;
}

let testDatabase: TestDatabase | undefined;
afterEach(async () => {
  await testDatabase?.drop();
  testDatabase = undefined;
});

describe("Prisma versions", () => {
  it("runs the PostgreSQL adapter at exactly the client's version, and the 7.x one only for migrations", async () => {
    const client = versionOf("@prisma/client");
    expect(versionOf("@prisma/adapter-pg")).toBe(client);
    expect(versionOf("@prisma/adapter-better-sqlite3")).toBe(client);
    expect(versionOf("@prisma/driver-adapter-utils")).toBe(client);
    expect(versionOf("prisma")).toBe(client);
    expect(versionOf("@prisma/adapter-pg-migrate")).toMatch(/^7\./);
  });

  it("applied every committed migration to the test databases", async () => {
    testDatabase = await createTestDatabase();
    const folder = path.join(projectRoot, "prisma", testEngine, "migrations");
    const committed = readdirSync(folder).filter((name) => existsSync(path.join(folder, name, "migration.sql")));
    const applied = await testDatabase.database.reader.query<{ migrationName: string }>(
      sql`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    expect(applied.map((row) => row.migrationName).sort()).toEqual(committed.sort());
  });

  // Why the split, and that each adapter is the one used: the gateway's (6.19, through openDatabase) cannot
  // read a `name` column, the one prisma.config.ts gives the CLI can. If the gateway's ever can, the alias
  // can go.
  it.runIf(testEngine === "postgres")(
    "gives the migration CLI the 7.x adapter, which reads `name` columns",
    async () => {
      testDatabase = await createTestDatabase();
      const nameColumn = sql`SELECT current_database() AS name`;
      await expect(testDatabase.database.reader.query(nameColumn)).rejects.toThrow();

      const previous = process.env.DATABASE_URL;
      process.env.DATABASE_URL = testDatabase.url;
      type Result<T> = { ok: boolean; value: T };
      type MigrationAdapter = {
        queryRaw(query: unknown): Promise<Result<{ rows: unknown[][] }>>;
        dispose(): Promise<unknown>;
      };
      let config: { adapter?: () => Promise<{ connect(): Promise<Result<MigrationAdapter>> }> };
      try {
        ({ default: config } = (await import("../../prisma.config.ts")) as { default: typeof config });
      } finally {
        if (previous === undefined) delete process.env.DATABASE_URL;
        else process.env.DATABASE_URL = previous;
      }
      // The CLI's configuration wraps the adapter so that it answers Results ({ ok, value }) instead of throwing.
      const connected = await (await config.adapter!()).connect();
      expect(connected.ok).toBe(true);
      const migrate = connected.value;
      try {
        const result = await migrate.queryRaw({ sql: nameColumn.text, args: [], argTypes: [] });
        expect(result.ok).toBe(true);
        expect(result.value.rows).toEqual([[new URL(testDatabase.url).pathname.slice(1)]]);
      } finally {
        await migrate.dispose();
      }
    },
  );
});
