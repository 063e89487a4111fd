// Gives each test its own brand-new, fully migrated, empty database on the engine under test.
//
// Both engines copy a template that the project's global setup migrated once with the real
// `prisma migrate deploy` (test/support/global-setup-*.ts), so a test database costs a file copy on SQLite
// and a `CREATE DATABASE ... TEMPLATE` on PostgreSQL instead of a full migration.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { inject, type ProvidedContext } from "vitest";
import { type Database, type DatabaseOptions, openDatabase } from "../../src/db/client.ts";
import { postgresDatabaseUrl, quoteIdentifier } from "./context.ts";
import { withAdminClient } from "./postgres-admin.ts";

export type TestEngine = "sqlite" | "postgres";

/** The engine this test project runs on; vitest.config.ts sets TEST_ENGINE per project. */
export const testEngine: TestEngine = parseEngine(process.env.TEST_ENGINE);

export interface TestDatabase {
  url: string;
  database: Database;
  /** Closes the database's clients and deletes the database. Safe to call more than once. */
  drop(): Promise<void>;
}

/**
 * Creates a database no other test file or test can see, migrated and empty, and opens it with
 * `openDatabase(url, options)`. Call `drop()` when done (typically in afterAll or afterEach); anything left
 * behind is still removed when the run ends.
 */
export async function createTestDatabase(options: DatabaseOptions = {}): Promise<TestDatabase> {
  return testEngine === "postgres" ? createPostgresDatabase(options) : createSqliteDatabase(options);
}

async function createSqliteDatabase(options: DatabaseOptions): Promise<TestDatabase> {
  // A directory per database, because SQLite puts its -wal and -shm files next to the database file.
  const directory = await mkdtemp(path.join(provided("sqliteWorkDirectory"), "db-"));
  const remove = () => rm(directory, { recursive: true, force: true });
  const file = path.join(directory, "ledger.db");
  const url = `file:${file}`;
  let database: Database;
  try {
    await copyFile(provided("sqliteTemplateFile"), file, constants.COPYFILE_EXCL);
    database = await openDatabase(url, options);
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    url,
    database,
    drop: once(async () => {
      try {
        await database.close();
      } finally {
        await remove();
      }
    }),
  };
}

async function createPostgresDatabase(options: DatabaseOptions): Promise<TestDatabase> {
  const adminUrl = provided("postgresAdminUrl");
  const name = `${provided("postgresDatabasePrefix")}_${randomBytes(6).toString("hex")}`;
  const dropDatabase = () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  await adminQuery(
    adminUrl,
    `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(provided("postgresTemplateDatabase"))}`,
  );
  const url = postgresDatabaseUrl(adminUrl, name);
  let database: Database;
  try {
    database = await openDatabase(url, options);
  } catch (error) {
    await dropDatabase();
    throw error;
  }
  return {
    url,
    database,
    drop: once(async () => {
      // Closing first lets the pool end its sessions cleanly; FORCE then only matters if a test leaked a
      // connection of its own.
      try {
        await database.close();
      } finally {
        await dropDatabase();
      }
    }),
  };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  await withAdminClient(adminUrl, (client) => client.query(sql));
}

/** A value from the engine's global setup, which only runs for a file run as part of that engine's project. */
function provided<K extends keyof ProvidedContext & string>(key: K): ProvidedContext[K] {
  const value = inject(key);
  if (value === undefined) {
    throw new Error(
      `No "${key}" from the ${testEngine} global setup: run test files through vitest.config.ts's ${testEngine} ` +
        "project (npm test, npm run test:sqlite, npm run test:postgres).",
    );
  }
  return value;
}

function once(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= action());
}

function parseEngine(value: string | undefined): TestEngine {
  if (value === undefined || value === "" || value === "sqlite") return "sqlite";
  if (value === "postgres") return "postgres";
  throw new Error(`TEST_ENGINE must be "sqlite" or "postgres"; got "${value}"`);
}
