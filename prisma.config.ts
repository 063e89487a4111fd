// Prisma CLI configuration. DATABASE_URL chooses the engine: `file:...` is the embedded SQLite database,
// `postgres://...` / `postgresql://...` is PostgreSQL. Both use driver adapters and the JavaScript schema
// engine, so the CLI needs no native engine download.
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { databaseEngine, defaultDatabaseUrl } from "./src/config/database-url.ts";

const url = process.env.DATABASE_URL ?? defaultDatabaseUrl;
const engine = databaseEngine(url);

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: `prisma/${engine}`,
  async adapter() {
    return engine === "postgres" ? new PrismaPg({ connectionString: url }) : new PrismaBetterSQLite3({ url });
  },
});
