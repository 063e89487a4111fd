// What the per-engine global setups hand to test files, and the small helpers both sides share.
//
// Global setups run once per test project in vitest's main process, while test files run in worker
// processes; vitest's provide/inject is the channel between them. Declaring the keys here gives both
// `project.provide(...)` and `inject(...)` their types.

declare module "vitest" {
  export interface ProvidedContext {
    /** SQLite: the migrated template file that every test database is copied from. */
    sqliteTemplateFile: string;
    /** SQLite: the run's temporary directory; test databases live below it, so teardown removes leftovers. */
    sqliteWorkDirectory: string;
    /** PostgreSQL: a URL of the server's maintenance database, used for CREATE and DROP DATABASE. */
    postgresAdminUrl: string;
    /** PostgreSQL: the migrated database that every test database is created from. */
    postgresTemplateDatabase: string;
    /** PostgreSQL: the name prefix of every database this run creates, so teardown can find leftovers. */
    postgresDatabasePrefix: string;
  }
}

/**
 * The name prefix of every PostgreSQL database one test run creates. scripts/test.ts chooses the run id
 * (TEST_RUN_ID) so that it can drop the run's databases itself when vitest is killed before its
 * teardown; a run started some other way gets a random one.
 */
export function postgresDatabasePrefix(runId: string): string {
  if (!/^[a-z0-9]{1,20}$/.test(runId))
    throw new Error(`A test run id must be 1-20 lower-case letters or digits; got "${runId}"`);
  return `ledger_test_${runId}`;
}

/** The URL of database `name` on the server that `serverUrl` points at, keeping user, host and options. */
export function postgresDatabaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Quotes a PostgreSQL identifier (database names cannot be bound as query parameters). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Describes a PostgreSQL URL for messages without revealing a password. */
export function describePostgresUrl(serverUrl: string): string {
  try {
    const url = new URL(serverUrl);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(unparsable URL)";
  }
}
