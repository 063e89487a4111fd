// The two servers under test, as child processes on 127.0.0.1: the gateway (this repository's src/main.ts on
// the system Node through tsx) and the peer (PostGraphile 5 on the bench's own Node 22, serve-postgraphile.mjs).
// Also reads their CPU time and memory, and PostgreSQL's, from /proc.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { benchDirectory } from "../generate.ts";
import { freePort } from "./cluster.ts";

export const repositoryRoot = path.resolve(benchDirectory, "..");

export interface Server {
  name: "gateway" | "peer";
  url: string;
  pid: number;
  /** The last lines the process printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

function startProcess(_name: Server["name"], file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const child = spawn(file, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split("\n").filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return { child, output: () => lines.join("\n") };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Waits until a GraphQL POST answers 200 (bounded). */
async function waitForGraphql(
  server: Server,
  child: ChildProcess,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${server.name} exited with code ${child.exitCode}:\n${server.output()}`);
    try {
      const response = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query: "{ __typename }" }),
        signal: AbortSignal.timeout(5_000),
      });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${server.name} did not answer within ${timeoutMs / 1000} s:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The Node both servers run on: the bench's own Node 22 (bench/package.json), the oldest LTS line the
 * gateway supports (package.json "engines"), so that the comparison is of the servers, not of runtimes,
 * whatever Node the machine has.
 */
export function gatewayNode(): string {
  return peerNode();
}

export interface GatewayOptions {
  /** A directory for a V8 CPU profile of the gateway (`--cpu-prof`), written when it stops. */
  profile: string | null;
  /** Extra Node.js options, before the gateway's own (e.g. V8 flags to try). */
  nodeArgs: string[];
}

export async function startGateway(
  databaseUrl: string,
  apiKey: string,
  options: GatewayOptions = { profile: null, nodeArgs: [] },
): Promise<Server> {
  const port = await freePort();
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    GRAPHIQL: "false",
    RATE_LIMIT_REQUESTS: "0",
    RATE_LIMIT_ANONYMOUS_REQUESTS: "0",
    MAX_IN_FLIGHT_REQUESTS: "1000",
    DATABASE_POOL_SIZE: "10",
    NODE_ENV: "production",
    // As the README's production section says to run it (and `npm start` does): glibc's per-thread malloc
    // arenas otherwise hold hundreds of MB that the heap no longer uses.
    MALLOC_ARENA_MAX: "2",
  };
  const { child, output } = startProcess(
    "gateway",
    gatewayNode(),
    [
      ...options.nodeArgs,
      ...(options.profile ? ["--cpu-prof", "--cpu-prof-dir", options.profile] : []),
      // As the README's production section says to run it (and `npm start` does): V8 lets the heap grow to
      // twice what survived its last full collection, not up to four times.
      "--heap-growing-percent=100",
      "--import",
      "tsx",
      "src/main.ts",
    ],
    env,
    repositoryRoot,
  );
  const server: Server = {
    name: "gateway",
    url: `http://127.0.0.1:${port}/graphql`,
    pid: child.pid ?? 0,
    output,
    stop: () => stopProcess(child),
  };
  try {
    await waitForGraphql(server, child, { authorization: `Bearer ${apiKey}` }, 90_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

export function peerNode(): string {
  const node = path.join(benchDirectory, "node_modules", ".bin", "node");
  if (!existsSync(node) || !existsSync(path.join(benchDirectory, "node_modules", "postgraphile"))) {
    throw new Error("The bench's own packages are not installed: run `npm ci --prefix bench` first.");
  }
  return node;
}

export async function startPeer(databaseUrl: string): Promise<Server> {
  const port = await freePort();
  const { child, output } = startProcess(
    "peer",
    peerNode(),
    [path.join(benchDirectory, "serve-postgraphile.mjs"), databaseUrl, String(port)],
    { ...process.env, NODE_ENV: "production" },
    benchDirectory,
  );
  const server: Server = {
    name: "peer",
    url: `http://127.0.0.1:${port}/graphql`,
    pid: child.pid ?? 0,
    output,
    stop: () => stopProcess(child),
  };
  try {
    await waitForGraphql(server, child, {}, 90_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

// ---------------------------------------------------------------------------------------------------------
// /proc

export const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces; the fields after it are space-separated.
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Parent pid of every process, read once. */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue;
    const ppid = Number(fields[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  return children;
}

function tree(pid: number): number[] {
  const children = parents();
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const child of children.get(p) ?? []) walk(child);
  };
  walk(pid);
  return out;
}

/**
 * CPU milliseconds used so far by a process and its descendants (all threads: /proc/<pid>/stat sums them).
 * With `reaped`, also the time of descendants that have exited (cutime/cstime of the root), which is how the
 * CPU of PostgreSQL backends that ended during a round stays counted.
 */
export function cpuMs(pid: number, reaped = false): number {
  let ticks = 0;
  for (const p of tree(pid)) {
    const fields = statFields(p);
    if (!fields) continue;
    // After the ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks += Number(fields[11]) + Number(fields[12]);
    if (reaped && p === pid) ticks += Number(fields[13]) + Number(fields[14]);
  }
  return (ticks * 1000) / clockTicks;
}

/** A process and its descendants, to sample their memory without scanning /proc every time. */
export function processTree(pid: number): number[] {
  return tree(pid);
}

/** Resident memory of these processes together, in MiB. */
export function rssMiB(pids: number[]): number {
  let kib = 0;
  for (const p of pids) {
    try {
      const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (match) kib += Number(match[1]);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}
