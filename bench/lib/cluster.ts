// A throw-away PostgreSQL cluster for one benchmark run: created in a temporary directory, listening on
// 127.0.0.1 at a free port, with pg_stat_statements loaded (statement counts per role), then stopped and
// deleted. Durable commits (fsync and synchronous_commit stay on), unlike the test suite's cluster, because
// write throughput is part of what is measured. As root, the server runs as the `postgres` system user.
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export interface Cluster {
  port: number;
  /** "PostgreSQL 15.x ...", from `postgres --version`. */
  version: string;
  /** URL of a database as a role (no password: the cluster trusts local connections). */
  url(database: string, role?: string): string;
  /** Runs a psql script (on stdin) as the superuser; rejects with psql's output when it fails. */
  psql(database: string, script: string, timeoutMs?: number): Promise<string>;
  /** The postmaster's process id (its children are the backends). */
  postmasterPid(): number;
  stop(): Promise<void>;
}

export function findBinary(name: string): string {
  for (const directory of (process.env.PATH ?? "").split(":")) {
    const file = path.join(directory, name);
    if (directory && existsSync(file)) return file;
  }
  try {
    const versions = execFileSync("sh", ["-c", "ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1"], {
      encoding: "utf8",
    }).trim();
    if (versions && existsSync(path.join(versions, name))) return path.join(versions, name);
  } catch {
    // fall through
  }
  throw new Error(
    `PostgreSQL's ${name} was not found on PATH or in /usr/lib/postgresql/*/bin; install the PostgreSQL server.`,
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port")),
      );
    });
  });
}

/** Runs a command with its output captured, killed after `timeoutMs`. */
export function run(
  file: string,
  args: string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number; output: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n(killed after ${options.timeoutMs} ms)`;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 120_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output, stdout });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

export async function startCluster(log: (line: string) => void): Promise<Cluster> {
  const initdb = findBinary("initdb");
  const pgCtl = findBinary("pg_ctl");
  const psqlBinary = findBinary("psql");
  const asRoot = process.getuid?.() === 0;
  const command = (file: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];
  const root = mkdtempSync(path.join(tmpdir(), "ledger-bench-postgres-"));
  const data = path.join(root, "data");
  const logFile = path.join(root, "server.log");
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    chownSync(root, id("-u"), id("-g"));
  }
  let started = false;
  let port = 0;
  let version = "PostgreSQL";
  const stop = async () => {
    try {
      if (started || existsSync(path.join(data, "postmaster.pid"))) {
        const fast = await run(...command(pgCtl, ["stop", "-D", data, "-m", "fast", "-w", "-t", "30"]), {
          timeoutMs: 40_000,
        });
        if (fast.code !== 0 && existsSync(path.join(data, "postmaster.pid"))) {
          await run(...command(pgCtl, ["stop", "-D", data, "-m", "immediate", "-w", "-t", "20"]), {
            timeoutMs: 30_000,
          });
        }
      }
    } finally {
      started = false;
      rmSync(root, { recursive: true, force: true });
    }
  };
  try {
    const init = await run(
      ...command(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]),
      { timeoutMs: 120_000 },
    );
    if (init.code !== 0) throw new Error(`initdb failed:\n${init.output}`);
    appendFileSync(
      path.join(data, "postgresql.conf"),
      [
        "",
        "# Throw-away benchmark cluster (bench/lib/cluster.ts). Durable commits: fsync and synchronous_commit stay on.",
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${root.replaceAll("'", "''")}'`,
        "max_connections = 100",
        "shared_buffers = 256MB",
        "shared_preload_libraries = 'pg_stat_statements'",
        "pg_stat_statements.track = top",
        "pg_stat_statements.track_utility = on",
        "pg_stat_statements.max = 10000",
        "",
      ].join("\n"),
    );
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const start = await run(
        ...command(pgCtl, ["start", "-D", data, "-l", logFile, "-w", "-t", "60", "-o", `-p ${port}`]),
        { timeoutMs: 70_000 },
      );
      if (start.code === 0) break;
      const serverLog = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
      if (attempt >= 3 || !/could not bind|address already in use/i.test(serverLog))
        throw new Error(`PostgreSQL did not start:\n${start.output}\n${serverLog}`);
    }
    started = true;
    version = execFileSync(path.join(path.dirname(pgCtl), "postgres"), ["--version"], { encoding: "utf8" })
      .trim()
      .replace(/^postgres \(PostgreSQL\) /, "");
    log(`postgres: started a throw-away PostgreSQL ${version} cluster on 127.0.0.1:${port}`);
  } catch (error) {
    await stop();
    throw error;
  }
  const url = (database: string, role = "postgres") => `postgresql://${role}@127.0.0.1:${port}/${database}`;
  return {
    port,
    version,
    url,
    async psql(database, script, timeoutMs = 600_000) {
      const result = await run(psqlBinary, ["-X", "-q", "-v", "ON_ERROR_STOP=1", url(database)], {
        input: script,
        timeoutMs,
      });
      if (result.code !== 0) throw new Error(`psql failed:\n${result.output}`);
      return result.output;
    },
    postmasterPid() {
      return Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    },
    stop,
  };
}
