// Global setup of the `sqlite` test project: migrates one template database file per run.
//
// Running the real `prisma migrate deploy` once, instead of once per test file, keeps the migrations
// themselves under test while each test database is then just a file copy (see createTestDatabase).
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Sqlite from "better-sqlite3";
import type { TestProject } from "vitest/node";
import { migrateDatabase } from "../../src/db/migrate.ts";
import "./context.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // scripts/test.ts passes a directory of its own (TEST_WORK_DIR) that it deletes itself, because vitest
  // skips this teardown when it is killed by a signal.
  const workDirectory = await mkdtemp(path.join(process.env.TEST_WORK_DIR || tmpdir(), "ledger-test-sqlite-"));
  const removeWorkDirectory = () => rm(workDirectory, { recursive: true, force: true });
  try {
    const templateFile = path.join(workDirectory, "template.db");
    await migrateDatabase(`file:${templateFile}`);
    settleTemplate(templateFile);
    project.provide("sqliteTemplateFile", templateFile);
    project.provide("sqliteWorkDirectory", workDirectory);
  } catch (error) {
    await removeWorkDirectory();
    throw error;
  }
  return removeWorkDirectory;
}

/**
 * Leaves the template as one self-contained file. A database in WAL mode keeps committed pages in a
 * `-wal` side file until a checkpoint; copying only the main file would then lose them. Checkpointing,
 * switching back to the rollback journal and closing moves everything into the main file and deletes
 * the side files, so a plain copy of the main file is a complete database. (Test databases switch
 * themselves to WAL again when openDatabase opens them.)
 */
function settleTemplate(file: string): void {
  const connection = new Sqlite(file);
  try {
    connection.pragma("wal_checkpoint(TRUNCATE)");
    connection.pragma("journal_mode = DELETE");
  } finally {
    connection.close();
  }
  for (const sideFile of [`${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(sideFile)) throw new Error(`The SQLite template still has ${path.basename(sideFile)} after closing`);
  }
}
