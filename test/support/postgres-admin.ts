// Administrative statements on the PostgreSQL test server (creating and dropping databases), shared by the
// postgres global setup, createTestDatabase and scripts/test.ts. They use `pg` directly because they run
// outside any database the Prisma clients could connect to.
import pg from "pg";
import { describePostgresUrl, quoteIdentifier } from "./context.ts";

/** Connects to the server's maintenance database at `adminUrl`, runs `use`, and disconnects. */
export async function withAdminClient<T>(adminUrl: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `Cannot connect to the PostgreSQL test server (${describePostgresUrl(adminUrl)}): ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Drops every database whose name starts with `prefix` followed by an underscore: one run's databases. */
export async function dropDatabasesWithPrefix(adminUrl: string, prefix: string): Promise<void> {
  await withAdminClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
      [`${prefix}_`],
    );
    // FORCE ends the sessions of a test that never closed its clients, which would otherwise block DROP.
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(datname)} WITH (FORCE)`);
    }
  });
}
