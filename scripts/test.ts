// Runs the test suite on SQLite and PostgreSQL (`npm test`) and ends with one line: `N passed, N failed`.
//
// Usage: tsx scripts/test.ts [--engine=sqlite|postgres|all] [vitest arguments...]
//
// PostgreSQL comes from TEST_POSTGRES_URL when it is set. Otherwise a throw-away cluster is created in a
// temporary directory, used for this run only, then stopped and deleted, also when the tests fail or the
// run is interrupted. Without PostgreSQL server binaries the PostgreSQL half is skipped, loudly.
// Every other argument goes to vitest unchanged (a file filter, -t "name", --bail 1, ...).
// TEST_RUN_TIMEOUT_MINUTES (default 20) bounds the whole vitest run, in case a test hangs for good.
// Redis (for the shared rate-limit tests) comes from TEST_REDIS_URL when it is set; otherwise a throw-away
// `redis-server` is started on a free port, without persistence, when the binary is on PATH. Without one
// the Redis tests are skipped, loudly.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  accessSync,
  appendFileSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { postgresDatabasePrefix } from "../test/support/context.ts";
import { dropDatabasesWithPrefix } from "../test/support/postgres-admin.ts";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outputDirectory = path.join(projectRoot, ".test-output");
// Vitest writes this run's JSON report to a file of its own, so that two runs in one checkout (say, one
// per engine in two terminals) never read each other's results; the latest report is then kept under a
// fixed name for people and CI artifacts.
const resultsFile = path.join(outputDirectory, `vitest-results.${process.pid}.json`);
const latestResultsFile = path.join(outputDirectory, "vitest-results.json");

type EngineChoice = "sqlite" | "postgres" | "all";

// ---------------------------------------------------------------------------------------------------------
// Interruption. Cleanup must run on SIGINT/SIGTERM too, so the signal only records itself and stops the
// running child; the main flow then unwinds through its `finally` blocks and exits with the signal's code.

let interruptedBy: NodeJS.Signals | undefined;
/** The process group vitest and its workers run in, while they run. */
let vitestGroup: number | undefined;

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (interruptedBy) return;
    interruptedBy = signal;
    log(`received ${signal}: stopping the tests and cleaning up`);
    if (vitestGroup !== undefined) signalGroup(vitestGroup, signal);
  });
}

class Interrupted extends Error {}

function checkInterrupted(): void {
  if (interruptedBy) throw new Interrupted(`interrupted by ${interruptedBy}`);
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const { engine, vitestArgs } = parseArguments(process.argv.slice(2));
  const startedAt = Date.now();
  let summary: Summary = { passed: 0, failed: 0, skipped: 0, vitestExitCode: undefined };
  let skippedPostgres: string | undefined;
  let cluster: Cluster | undefined;
  let postgresUrl: string | undefined;
  let redis: RedisServer | undefined;
  let redisUrl: string | undefined;
  let skippedRedis: string | undefined;
  // Vitest runs its global teardown only when it ends by itself, not when a signal kills it. So the run's
  // SQLite files live in a directory this script deletes, and its PostgreSQL databases carry a prefix this
  // script can drop (see test/support/global-setup-*.ts).
  const runId = randomBytes(5).toString("hex");
  const workDirectory = await mkdtemp(path.join(tmpdir(), "ledger-test-run-"));

  try {
    if (engine !== "sqlite") {
      if (process.env.TEST_POSTGRES_URL) {
        postgresUrl = process.env.TEST_POSTGRES_URL;
        log(`PostgreSQL: using the server at TEST_POSTGRES_URL (${describeUrl(postgresUrl)})`);
      } else {
        const binaries = findPostgresBinaries();
        if (binaries) {
          cluster = await startCluster(binaries);
          postgresUrl = cluster.url;
        } else if (engine === "postgres") {
          throw new Error(
            "PostgreSQL was requested but TEST_POSTGRES_URL is not set and no PostgreSQL server binaries " +
              "(initdb, pg_ctl, postgres) were found on PATH or in the Debian/Ubuntu package location.",
          );
        } else {
          skippedPostgres =
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found on PATH or in the " +
            "Debian/Ubuntu package location, and TEST_POSTGRES_URL is not set. Install PostgreSQL " +
            "(e.g. apt-get install postgresql) or set TEST_POSTGRES_URL to run it.";
          printSkipped(skippedPostgres);
        }
      }
    }
    checkInterrupted();

    if (process.env.TEST_REDIS_URL) {
      redisUrl = process.env.TEST_REDIS_URL;
      log(`Redis: using the server at TEST_REDIS_URL (${describeUrl(redisUrl)})`);
    } else {
      const binary = findExecutable("redis-server");
      if (binary) {
        redis = await startRedis(binary);
        redisUrl = redis.url;
      } else {
        skippedRedis =
          "redis-server was not found on PATH and TEST_REDIS_URL is not set, so the rate-limit tests that " +
          "share counters through Redis were skipped. Install Redis (e.g. apt-get install redis-server) to run them.";
        printSkipped(skippedRedis, "Redis");
      }
    }
    checkInterrupted();

    const projects = postgresUrl ? (engine === "all" ? ["sqlite", "postgres"] : [engine]) : ["sqlite"];
    const exitCode = await runVitest(projects, vitestArgs, {
      TEST_RUN_ID: runId,
      TEST_WORK_DIR: workDirectory,
      TEST_POSTGRES_URL: postgresUrl,
      TEST_REDIS_URL: redisUrl,
    });
    summary = summarize(exitCode);
  } catch (error) {
    if (!(error instanceof Interrupted)) log(`error: ${error instanceof Error ? error.message : String(error)}`);
    summary.harnessFailed = true;
  } finally {
    rmSync(workDirectory, { recursive: true, force: true });
    await redis?.stop();
    if (cluster) {
      // Deleting the cluster deletes its databases with it.
      await cluster.stop();
    } else if (postgresUrl) {
      // On a server of someone else's, only this run's databases are dropped (normally vitest's teardown
      // already has, and this finds none).
      await dropDatabasesWithPrefix(postgresUrl, postgresDatabasePrefix(runId)).catch((error: unknown) =>
        log(`warning: could not drop this run's databases (${postgresDatabasePrefix(runId)}_*): ${String(error)}`),
      );
    }
  }

  if (skippedPostgres) printSkipped(skippedPostgres);
  if (skippedRedis) printSkipped(skippedRedis, "Redis");
  if (interruptedBy) {
    log(`interrupted by ${interruptedBy}; the databases and files of this run have been removed`);
  } else if (!summary.harnessFailed && summary.passed + summary.failed === 0) {
    log("no test ran; see the output above");
  } else if (summary.vitestExitCode !== undefined && summary.vitestExitCode !== 0 && summary.failed === 0) {
    log(`vitest exited with code ${summary.vitestExitCode} although no test failed; see its errors above`);
  }
  log(`finished in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  // The very last line, in a fixed form, so that CI and people can read the outcome at a glance.
  console.log(
    `${summary.passed} passed, ${summary.failed} failed${summary.skipped > 0 ? `, ${summary.skipped} skipped` : ""}`,
  );

  if (interruptedBy) return interruptedBy === "SIGINT" ? 130 : interruptedBy === "SIGTERM" ? 143 : 129;
  const ok = !summary.harnessFailed && summary.failed === 0 && summary.passed > 0 && summary.vitestExitCode === 0;
  return ok ? 0 : 1;
}

function parseArguments(args: string[]): { engine: EngineChoice; vitestArgs: string[] } {
  let engine: EngineChoice = "all";
  const vitestArgs: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    let value: string | undefined;
    if (arg.startsWith("--engine=")) value = arg.slice("--engine=".length);
    else if (arg === "--engine") value = args[++index];
    else {
      vitestArgs.push(arg);
      continue;
    }
    if (value !== "sqlite" && value !== "postgres" && value !== "all") {
      throw new Error(
        `--engine must be sqlite, postgres or all; got ${value === undefined ? "nothing" : `"${value}"`}`,
      );
    }
    engine = value;
  }
  return { engine, vitestArgs };
}

// ---------------------------------------------------------------------------------------------------------
// Vitest

async function runVitest(
  projects: string[],
  vitestArgs: string[],
  testEnvironment: Record<string, string | undefined>,
): Promise<number> {
  mkdirSync(outputDirectory, { recursive: true });
  // A results file left by an earlier run (with a recycled process id) must never be mistaken for this run's.
  rmSync(resultsFile, { force: true });

  const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs");
  const args = [
    vitest,
    "run",
    ...projects.flatMap((project) => ["--project", project]),
    // The default reporter is for people; the JSON report is what the summary line is computed from.
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${path.relative(projectRoot, resultsFile)}`,
    ...vitestArgs,
  ];
  log(`running vitest on ${projects.join(" and ")}`);
  const env = { ...process.env };
  for (const [name, value] of Object.entries(testEnvironment)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  // Vitest runs in a process group of its own, and every signal goes to the whole group. Vitest itself
  // exits on a signal without stopping its workers, and a worker whose event loop is blocked (a synchronous
  // SQLite lock wait, an endless loop) ignores both vitest's timeouts and its shutdown; signalling the
  // group reaches such a worker directly, and nothing of the run is left behind.
  const child = spawn(process.execPath, args, { cwd: projectRoot, env, stdio: "inherit", detached: true });
  const group = child.pid;
  vitestGroup = group;
  // Vitest's per-test timeouts cannot interrupt a blocked worker, so a whole-run limit keeps a stuck run
  // from holding a CI machine forever.
  const limitMinutes = Number(process.env.TEST_RUN_TIMEOUT_MINUTES || 20);
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    log(`the tests ran longer than ${limitMinutes} minutes (TEST_RUN_TIMEOUT_MINUTES); stopping them`);
    if (group !== undefined) {
      signalGroup(group, "SIGTERM");
      setTimeout(() => signalGroup(group, "SIGKILL"), 10_000).unref();
    }
  }, limitMinutes * 60_000);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
    });
    if (timedOut) throw new Error(`the tests were stopped after ${limitMinutes} minutes`);
    return code;
  } finally {
    clearTimeout(watchdog);
    vitestGroup = undefined;
    // Normally every worker has exited with vitest; this only ends those that could not.
    if (group !== undefined) signalGroup(group, "SIGKILL");
  }
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // The group is already empty.
  }
}

interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  vitestExitCode: number | undefined;
  harnessFailed?: boolean;
}

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; status: string; message?: string; assertionResults: { status: string }[] }[];
}

function summarize(vitestExitCode: number): Summary {
  if (!existsSync(resultsFile)) {
    if (!interruptedBy) log("vitest wrote no JSON report (it stopped before running tests; see its errors above)");
    return { passed: 0, failed: 0, skipped: 0, vitestExitCode };
  }
  const report = JSON.parse(readFileSync(resultsFile, "utf8")) as JsonReport;
  renameSync(resultsFile, latestResultsFile);
  log(`JSON report: ${path.relative(projectRoot, latestResultsFile)}`);
  // A file that fails outside any test (an import error, a throwing beforeAll) reports its tests as
  // skipped or not at all; it is counted as one failure so that the summary line cannot read "0 failed".
  const brokenFiles = report.testResults.filter(
    (file) => file.status === "failed" && !file.assertionResults.some((test) => test.status === "failed"),
  );
  for (const file of brokenFiles) {
    log(`counted as a failure: ${path.relative(projectRoot, file.name)} failed outside its tests`);
  }
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + brokenFiles.length,
    skipped: report.numPendingTests + report.numTodoTests,
    vitestExitCode,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Throw-away PostgreSQL cluster

interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
}

interface Cluster {
  url: string;
  stop(): Promise<void>;
}

/**
 * Finds initdb and pg_ctl (pg_ctl starts the `postgres` beside it). PATH comes first; Debian and Ubuntu
 * packages do not put the server binaries on PATH but under /usr/lib/postgresql/<major>/bin, so the newest
 * major there is the fallback.
 */
function findPostgresBinaries(): PostgresBinaries | undefined {
  const pathDirectories = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  const debianRoot = "/usr/lib/postgresql";
  const debianDirectories = existsSync(debianRoot)
    ? readdirSync(debianRoot)
        .filter((name) => /^\d+(\.\d+)?$/.test(name))
        .sort((a, b) => Number(b) - Number(a))
        .map((major) => path.join(debianRoot, major, "bin"))
    : [];
  for (const directory of [...pathDirectories, ...debianDirectories]) {
    const [initdb, pgCtl, postgres] = ["initdb", "pg_ctl", "postgres"].map((name) => path.join(directory, name));
    if (isExecutable(initdb!) && isExecutable(pgCtl!) && isExecutable(postgres!))
      return { initdb: initdb!, pgCtl: pgCtl! };
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function startCluster(binaries: PostgresBinaries): Promise<Cluster> {
  // PostgreSQL refuses to run as root. As root, the server runs as the `postgres` system user (which the
  // distribution packages create), and the cluster's directory must belong to that user.
  const runAsRoot = process.getuid?.() === 0;
  const owner = runAsRoot ? postgresSystemUser() : undefined;
  const root = await mkdtemp(path.join(tmpdir(), "ledger-test-postgres-"));
  const dataDirectory = path.join(root, "data");
  const logFile = path.join(root, "server.log");
  if (owner) chownSync(root, owner.uid, owner.gid);
  const command = (file: string, args: string[]): [string, string[]] =>
    runAsRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];

  let started = false;
  const stop = async () => {
    try {
      if (started || existsSync(path.join(dataDirectory, "postmaster.pid"))) {
        const fast = await runQuietly(
          ...command(binaries.pgCtl, ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60"]),
        );
        if (fast.code !== 0 && existsSync(path.join(dataDirectory, "postmaster.pid"))) {
          log(`pg_ctl stop failed (${fast.output.trim()}); stopping immediately`);
          await runQuietly(
            ...command(binaries.pgCtl, ["stop", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "30"]),
          );
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };

  try {
    const init = await runQuietly(
      ...command(binaries.initdb, [
        "-D",
        dataDirectory,
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
      ]),
    );
    if (init.code !== 0) throw new Error(`initdb failed:\n${init.output}`);
    checkInterrupted();

    // Settings go into postgresql.conf rather than onto the command line, which pg_ctl hands to a shell.
    // Durability is worthless for a cluster deleted after the run, and turning it off makes every
    // CREATE DATABASE and commit cheaper. Only TCP on 127.0.0.1 is offered, plus a Unix socket inside the
    // cluster's own directory, so nothing else on the machine is touched.
    appendFileSync(
      path.join(dataDirectory, "postgresql.conf"),
      [
        "",
        "# Throw-away test cluster (scripts/test.ts).",
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${root.replaceAll("'", "''")}'`,
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "max_connections = 300",
        "",
      ].join("\n"),
    );

    // The free port is found by binding port 0 and releasing it, so another process may take it in
    // between; a few attempts make that race harmless.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const start = await runQuietly(
        ...command(binaries.pgCtl, ["start", "-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", `-p ${port}`]),
      );
      if (start.code === 0) {
        started = true;
        const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
        log(`PostgreSQL: started a throw-away ${serverVersion(binaries)} cluster on 127.0.0.1:${port}`);
        return { url, stop };
      }
      const serverLog = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
      if (attempt >= 3 || !/could not bind|address already in use/i.test(serverLog)) {
        throw new Error(`PostgreSQL did not start:\n${start.output}\n${serverLog}`);
      }
      checkInterrupted();
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

function postgresSystemUser(): { uid: number; gid: number } {
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    throw new Error(
      "Running as root, PostgreSQL must run as another user, but there is no `postgres` system user. " +
        "Create one, run the tests as a normal user, or set TEST_POSTGRES_URL.",
    );
  }
}

function serverVersion(binaries: PostgresBinaries): string {
  try {
    const postgres = path.join(path.dirname(binaries.pgCtl), "postgres");
    return execFileSync(postgres, ["--version"], { encoding: "utf8" })
      .trim()
      .replace(/^postgres \(PostgreSQL\) /, "PostgreSQL ");
  } catch {
    return "PostgreSQL";
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

/**
 * Runs a setup or cleanup command with its output captured (shown only when it fails). It runs in its
 * own process group so that a Ctrl-C meant for the tests cannot kill initdb or pg_ctl half-way and leave
 * a half-started server behind; the interruption is handled once the command has finished.
 */
function runQuietly(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: tmpdir(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const output: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output: Buffer.concat(output).toString() }));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Throw-away Redis

interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

function findExecutable(name: string): string | undefined {
  for (const directory of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const file = path.join(directory, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/**
 * Starts redis-server on 127.0.0.1 and a free port, with its working directory in a temporary directory
 * and no persistence (no RDB snapshots, no append-only file), so that nothing outlives the run.
 */
async function startRedis(binary: string): Promise<RedisServer> {
  const root = await mkdtemp(path.join(tmpdir(), "ledger-test-redis-"));
  // The free port is found by binding port 0 and releasing it, so another process may take it in between;
  // a few attempts make that race harmless.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      root,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
    ];
    // Its own process group, like the PostgreSQL commands, so that a Ctrl-C meant for the tests does not
    // kill it before the cleanup below stops it.
    const child = spawn(binary, args, { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const output: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(root, { recursive: true, force: true });
    };
    const answered = await Promise.race([waitForRedis(port, 10_000), exited.then(() => false)]);
    if (answered) {
      log(`Redis: started a throw-away server on 127.0.0.1:${port}`);
      return { url: `redis://127.0.0.1:${port}`, stop };
    }
    await stop();
    const text = Buffer.concat(output).toString();
    if (attempt >= 3 || !/address already in use/i.test(text)) throw new Error(`redis-server did not start:\n${text}`);
    checkInterrupted();
  }
}

/** Resolves true once a PING on the port is answered with PONG, false after `timeoutMs`. */
async function waitForRedis(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      let reply = "";
      socket.setTimeout(1_000, () => socket.destroy());
      socket.on("connect", () => socket.write("PING\r\n"));
      socket.on("data", (chunk) => {
        reply += chunk.toString();
        if (reply.includes("\r\n")) socket.end();
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve(reply.startsWith("+PONG")));
    });
    if (pong) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------

function printSkipped(reason: string, what = "PostgreSQL"): void {
  const rule = "!".repeat(100);
  console.log(`\n${rule}\n!!! ${what} tests SKIPPED: ${reason}\n${rule}\n`);
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}

function log(message: string): void {
  console.log(`[test] ${message}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Only argument errors get here; everything after them is handled inside main.
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
    console.log("0 passed, 0 failed");
    process.exit(1);
  },
);
