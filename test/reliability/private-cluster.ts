// A PostgreSQL cluster of one test's own, for faults that would disturb the other test files if done to the
// shared test server (a restart). Built the way scripts/test.ts builds the shared one: the server binaries
// from PATH or the Debian location, run as the `postgres` user when the tests run as root.
import { execFile } from "node:child_process";
import {
  accessSync,
  chownSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  appendFileSync,
} from "node:fs";
import { mkdtemp } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { withClient } from "./support.ts";

const run = promisify(execFile);
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface PrivateCluster {
  /** URL of the `ledger` database, migrated. */
  url: string;
  stopImmediately(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** The directory holding initdb, pg_ctl and postgres, or null when there is none. */
export function postgresBinaries(): string | null {
  const candidates = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    for (const major of readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a))) {
      candidates.push(path.join(debian, major, "bin"));
    }
  }
  for (const directory of candidates) {
    try {
      for (const name of ["initdb", "pg_ctl", "postgres"]) accessSync(path.join(directory, name), constants.X_OK);
      return directory;
    } catch {
      // not here
    }
  }
  return null;
}

export async function startPrivateCluster(binaries: string): Promise<PrivateCluster> {
  const asRoot = process.getuid?.() === 0;
  const root = await mkdtemp(path.join(tmpdir(), "ledger-reliability-pg-"));
  const data = path.join(root, "data");
  const log = path.join(root, "server.log");
  if (asRoot) {
    const id = async (flag: string) => Number((await run("id", [flag, "postgres"])).stdout.trim());
    chownSync(root, await id("-u"), await id("-g"));
  }
  const pg = (tool: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", path.join(binaries, tool), ...args])
      : run(path.join(binaries, tool), args);

  await pg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
  // fsync may be off: an immediate stop kills the server, not the machine, so the kernel still writes what it
  // was given. synchronous_commit must stay on: with it off, commits already acknowledged to the gateway are
  // lost by an immediate stop, and the restart test rightly counts them as lost writes.
  appendFileSync(
    path.join(data, "postgresql.conf"),
    `\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${root}'\nfsync = off\nsynchronous_commit = on\n`,
  );
  const port = await freePort();
  const start = async () => {
    await pg("pg_ctl", ["start", "-D", data, "-l", log, "-w", "-t", "60", "-o", `-p ${port}`]);
  };
  const stop = async (mode: "immediate" | "fast") => {
    if (existsSync(path.join(data, "postmaster.pid")))
      await pg("pg_ctl", ["stop", "-D", data, "-m", mode, "-w", "-t", "60"]);
  };
  const destroy = async () => {
    try {
      await stop("fast").catch(() => stop("immediate"));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  try {
    await start();
    const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const url = `postgresql://postgres@127.0.0.1:${port}/ledger`;
    await withClient(adminUrl, (client) => client.query("CREATE DATABASE ledger"));
    // The committed migrations, in order: the same SQL `prisma migrate deploy` applies, without the CLI's
    // start-up time.
    const migrations = path.join(projectRoot, "prisma", "postgres", "migrations");
    await withClient(url, async (client) => {
      for (const name of readdirSync(migrations).sort()) {
        const file = path.join(migrations, name, "migration.sql");
        if (existsSync(file)) await client.query(readFileSync(file, "utf8"));
      }
    });
    return { url, stopImmediately: () => stop("immediate"), start, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
