// Global setup of the `postgres` test project: migrates one template database per run on the server
// named by TEST_POSTGRES_URL, and drops every database the run created when it ends.
//
// Running the real `prisma migrate deploy` once keeps the migrations themselves under test, while each
// test database is then a cheap `CREATE DATABASE ... TEMPLATE` copy (see createTestDatabase).
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { describePostgresUrl, postgresDatabasePrefix, postgresDatabaseUrl, quoteIdentifier } from "./context.ts";
import { dropDatabasesWithPrefix, withAdminClient } from "./postgres-admin.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = process.env.TEST_POSTGRES_URL;
  if (!adminUrl) {
    throw new Error(
      "The postgres test project needs TEST_POSTGRES_URL, the URL of a PostgreSQL server on which the tests " +
        "may create and drop databases (for example postgresql://postgres@127.0.0.1:5432/postgres). " +
        "`npm test` sets it by starting a throw-away server; or run only SQLite with `npm run test:sqlite`.",
    );
  }
  if (!/^postgres(ql)?:\/\//.test(adminUrl)) {
    throw new Error(
      `TEST_POSTGRES_URL must start with postgresql:// or postgres://; got ${describePostgresUrl(adminUrl)}`,
    );
  }

  // A prefix per run lets several runs (or several developers) share one server without their databases
  // colliding, and lets teardown find this run's leftovers without touching anyone else's.
  const prefix = postgresDatabasePrefix(process.env.TEST_RUN_ID || randomBytes(5).toString("hex"));
  const template = `${prefix}_template`;

  await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdentifier(template)}`));
  try {
    await migrateDatabase(postgresDatabaseUrl(adminUrl, template));
    // CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template; refusing connections
    // from here on means a stray client cannot break the copies.
    await withAdminClient(adminUrl, (client) =>
      client.query(`ALTER DATABASE ${quoteIdentifier(template)} WITH ALLOW_CONNECTIONS false`),
    );
  } catch (error) {
    await dropDatabasesWithPrefix(adminUrl, prefix);
    throw error;
  }

  project.provide("postgresAdminUrl", adminUrl);
  project.provide("postgresTemplateDatabase", template);
  project.provide("postgresDatabasePrefix", prefix);
  // Also drops the databases of tests that never called drop().
  return () => dropDatabasesWithPrefix(adminUrl, prefix);
}
