// Which database engine a DATABASE_URL names. Shared by the Prisma CLI configuration and the server.

export type DatabaseEngine = "sqlite" | "postgres";

/** The embedded database used when DATABASE_URL is not set: a file beside the project. */
export const defaultDatabaseUrl = "file:./data/ledger.db";

export function databaseEngine(url: string): DatabaseEngine {
  if (url.startsWith("file:")) return "sqlite";
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) return "postgres";
  throw new Error(
    `DATABASE_URL must start with "file:" (SQLite) or "postgres://" (PostgreSQL); got "${url.split(":")[0]}:..."`,
  );
}
