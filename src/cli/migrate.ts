// Applies the database migrations without starting the server (`npm run migrate`), for deployments that
// migrate in a step of their own before starting new gateway processes. The server and the keys tool apply
// them at start as well, so running this is never required.
import { databaseEngine, defaultDatabaseUrl } from "../config/database-url.ts";
import { migrateDatabase } from "../db/migrate.ts";

// An empty DATABASE_URL counts as unset, as it does for the server.
const url = process.env.DATABASE_URL?.trim() || defaultDatabaseUrl;
try {
  const engine = databaseEngine(url);
  await migrateDatabase(url);
  console.log(`The ${engine === "sqlite" ? "SQLite" : "PostgreSQL"} database is migrated to the latest schema.`);
} catch (error) {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
