// Prisma CLI configuration. DATABASE_URL chooses the engine: `file:...` is the embedded SQLite database,
// `postgres://...` / `postgresql://...` is PostgreSQL. Both use driver adapters and the JavaScript schema
// engine, so the CLI needs no native engine download.
//
// PostgreSQL migrations use @prisma/adapter-pg 7.x, installed under the alias @prisma/adapter-pg-migrate: the
// 6.19 adapter cannot read the `name` columns Prisma's migration engine queries (prisma/orm#27403, fixed in
// 7.x). The gateway itself runs on @prisma/adapter-pg at exactly the client's version (src/db/client.ts);
// test/reliability/versions.test.ts checks that each is used where intended.
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg-migrate";
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
