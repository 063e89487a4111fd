// One measured round: drives one server with autocannon for a fixed time at a fixed number of connections and
// records throughput, latency, errors, the CPU time of the server and of PostgreSQL (from /proc), the
// server's peak resident memory (sampled every 200 ms) and the statements its PostgreSQL role ran
// (pg_stat_statements). The load generator runs on the same machine as both servers and PostgreSQL; rounds
// alternate between the servers, so each round sees the same competition for the cores.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type pg from "pg";
import { answerHasErrors, type ServerName, type Workload } from "./workloads.ts";
import { clockTicks, cpuMs, processTree, rssMiB, type Server } from "./servers.ts";

const require = createRequire(import.meta.url);

interface AutocannonResult {
  duration: number;
  requests: { total: number; sent?: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (
  options: Record<string, unknown>,
  callback: (error: Error | null, result: AutocannonResult) => void,
) => unknown;
const autocannon = require("autocannon") as Autocannon;

export interface Round {
  workload: string;
  server: ServerName;
  connections: number;
  round: number;
  /** Answers received within the round. */
  requests: number;
  /** Requests sent within the round (answered, plus those in flight when it ended). */
  sent: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx answers, socket errors, timeouts and answers with GraphQL errors or userErrors. */
  errors: number;
  serverCpuMsPerRequest: number;
  postgresCpuMsPerRequest: number;
  peakRssMiB: number;
  /** CPU the runner itself (autocannon) used, in cores. */
  loadGeneratorCores: number;
  /** CPU used by everything else on the machine during the round (other servers' leftovers, other jobs), in cores. */
  otherCores: number;
  statementsPerRequest: number;
  /** pg_stat_statements evicted entries during the round, which would make the statement count low. */
  statementsEvicted: boolean;
  /** Whether the server finished its in-flight requests within a minute after the round. */
  drained: boolean;
  /** An example of an erroneous answer, for the report. */
  sampleError?: string;
}

export interface RoundContext {
  client: pg.Client;
  postmasterPid: number;
  apiKey: string;
  random: () => number;
  runId: string;
}

async function statementCalls(client: pg.Client, role: string): Promise<{ calls: number; dealloc: number }> {
  const calls = await client.query<{ calls: string }>(
    "SELECT coalesce(sum(s.calls), 0)::text AS calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1",
    [role],
  );
  const info = await client.query<{ dealloc: string }>("SELECT dealloc::text FROM pg_stat_statements_info");
  return { calls: Number(calls.rows[0]?.calls ?? 0), dealloc: Number(info.rows[0]?.dealloc ?? 0) };
}

let requestCounter = 0;

/** Busy CPU time of the whole machine so far, in ms (all cores; from the first line of /proc/stat). */
function machineBusyMs(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
  const busy = fields.slice(0, 8).reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
  return (busy * 1000) / clockTicks;
}

const selfCpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/**
 * Waits (at most `timeoutMs`) until the server has finished the requests still in flight when the load
 * generator stopped: no busy PostgreSQL session of its role and almost no CPU used by the server over 200 ms.
 * Without this, one round's leftovers would run during the next round (the other server's), and `verify`
 * could read a ledger half-way through a write.
 */
export async function waitUntilIdle(client: pg.Client, server: Server, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const cpuBefore = cpuMs(server.pid);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const busy = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state IS DISTINCT FROM 'idle'",
      [server.name],
    );
    const idle = (busy.rows[0]?.n ?? 0) === 0 && cpuMs(server.pid) - cpuBefore < 20;
    quiet = idle ? quiet + 1 : 0;
    if (quiet >= 2) return true;
  }
  return false;
}

export async function measureRound(
  context: RoundContext,
  server: Server,
  workload: Workload,
  connections: number,
  seconds: number,
  round: number,
): Promise<Round> {
  let graphqlErrors = 0;
  let sampleError: string | undefined;
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (server.name === "gateway") headers.authorization = `Bearer ${context.apiKey}`;

  const pids = processTree(server.pid);
  let peak = rssMiB(pids);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(pids));
  }, 200);
  const statementsBefore = await statementCalls(context.client, server.name);
  const serverCpuBefore = cpuMs(server.pid);
  const postgresCpuBefore = cpuMs(context.postmasterPid, true);
  const machineBefore = machineBusyMs();
  const selfBefore = selfCpuMs();

  let result: AutocannonResult;
  try {
    result = await new Promise<AutocannonResult>((resolve, reject) => {
      autocannon(
        {
          url: server.url,
          method: "POST",
          headers,
          connections,
          duration: seconds,
          timeout: 30,
          requests: [
            {
              setupRequest: (request: Record<string, unknown>) => ({
                ...request,
                body: workload.body(server.name, context.random, `bench-${context.runId}-${++requestCounter}`),
              }),
              onResponse: (status: number, body: string) => {
                if (status === 200 && answerHasErrors(body)) {
                  graphqlErrors++;
                  sampleError ??= body.slice(0, 300);
                } else if (status !== 200) {
                  sampleError ??= `HTTP ${status}: ${body.slice(0, 300)}`;
                }
              },
            },
          ],
        },
        (error, value) => (error ? reject(error) : resolve(value)),
      );
    });
  } finally {
    clearInterval(sampler);
  }

  // The machine's other load over the round itself.
  const roundServerCpu = cpuMs(server.pid) - serverCpuBefore;
  const roundPostgresCpu = cpuMs(context.postmasterPid, true) - postgresCpuBefore;
  const runnerCpu = selfCpuMs() - selfBefore;
  const otherCpu = Math.max(0, machineBusyMs() - machineBefore - roundServerCpu - roundPostgresCpu - runnerCpu);
  peak = Math.max(peak, rssMiB(pids));
  // The work per request counts every request sent in the round, to its end: the requests still in flight when
  // the load generator stopped are finished (drained) before the CPU and statement counters are read again,
  // and divided by the requests sent rather than answered. A slow server would otherwise be charged for up to
  // `connections` half-done requests without counting them.
  const drained = await waitUntilIdle(context.client, server);
  const serverCpu = cpuMs(server.pid) - serverCpuBefore;
  const postgresCpu = cpuMs(context.postmasterPid, true) - postgresCpuBefore;
  const statementsAfter = await statementCalls(context.client, server.name);
  const requests = result.requests.total;
  const sent = Math.max(result.requests.sent ?? requests, requests);
  const per = (value: number) => (sent > 0 ? value / sent : 0);
  return {
    workload: workload.id,
    server: server.name,
    connections,
    round,
    requests,
    sent,
    seconds: result.duration,
    rps: requests / result.duration,
    // No answer at all within the round (a server slower than the round is long): no latency to report.
    p50: requests > 0 ? result.latency.p50 : Number.NaN,
    p99: requests > 0 ? result.latency.p99 : Number.NaN,
    errors: result.non2xx + result.errors + result.timeouts + graphqlErrors,
    serverCpuMsPerRequest: per(serverCpu),
    postgresCpuMsPerRequest: per(postgresCpu),
    peakRssMiB: peak,
    loadGeneratorCores: runnerCpu / 1000 / result.duration,
    otherCores: otherCpu / 1000 / result.duration,
    statementsPerRequest: per(statementsAfter.calls - statementsBefore.calls),
    statementsEvicted: statementsAfter.dealloc !== statementsBefore.dealloc,
    drained,
    ...(sampleError ? { sampleError } : {}),
  };
}
