// Applies the committed migrations of the engine that DATABASE_URL names, with Prisma's own
// `migrate deploy` (the same command an operator would run), so the schema is never created any other way.
//
// Every gateway instance calls this at start. When every committed migration is already applied (the common
// case: a restart, or a second instance), it returns after one cheap query without starting the Prisma CLI.
// That matters beyond speed: on SQLite the CLI fails outright when another instance has the database open,
// and on PostgreSQL the CLI lingers about ten seconds on an idle connection before it exits.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type DatabaseEngine, databaseEngine } from "../config/database-url.ts";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(import.meta.url);

export async function migrateDatabase(url: string): Promise<{ applied: boolean }> {
  const engine = databaseEngine(url);
  if (engine === "sqlite") {
    // SQLite creates the file but not its folder.
    mkdirSync(path.dirname(sqlitePath(url)), { recursive: true });
  }
  const committed = committedMigrations(engine);
  const applied = await appliedMigrations(engine, url);
  if (committed.every((name) => applied.has(name))) return { applied: false };
  await runPrismaMigrateDeploy(url);
  return { applied: true };
}

function sqlitePath(url: string): string {
  return path.resolve(projectRoot, url.slice("file:".length));
}

function committedMigrations(engine: DatabaseEngine): string[] {
  const folder = path.join(projectRoot, "prisma", engine, "migrations");
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(folder, entry.name, "migration.sql")))
    .map((entry) => entry.name);
}

/** Names of the migrations Prisma recorded as finished; empty for a new database. */
async function appliedMigrations(engine: DatabaseEngine, url: string): Promise<Set<string>> {
  const query =
    "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL";
  if (engine === "sqlite") {
    const file = sqlitePath(url);
    if (!existsSync(file)) return new Set();
    const Database = require("better-sqlite3") as typeof import("better-sqlite3");
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const table = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'")
        .get();
      if (!table) return new Set();
      return new Set((db.prepare(query).all() as { migration_name: string }[]).map((row) => row.migration_name));
    } finally {
      db.close();
    }
  }
  const pg = require("pg") as typeof import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query("SELECT to_regclass('_prisma_migrations') AS name");
    if (exists.rows[0]?.name === null) return new Set();
    const result = await client.query<{ migration_name: string }>(query);
    return new Set(result.rows.map((row) => row.migration_name));
  } finally {
    await client.end();
  }
}

async function runPrismaMigrateDeploy(url: string): Promise<void> {
  const prismaCli = require.resolve("prisma/build/index.js");
  const output: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, "migrate", "deploy"], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0) {
    throw new Error(`prisma migrate deploy failed (exit ${code}):\n${Buffer.concat(output).toString()}`);
  }
}
