// Turns the measured rounds into the summary table: per workload and connection count, the median over the
// rounds of each server, and the ratio gateway ÷ PostGraphile for throughput. Also writes bench/RESULTS.md.
import type { Round } from "./measure.ts";
import type { Workload } from "./workloads.ts";

export interface Summary {
  workload: string;
  connections: number;
  gateway: Aggregate;
  peer: Aggregate;
  ratio: number;
}

interface Aggregate {
  rounds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  serverCpu: number;
  postgresCpu: number;
  rss: number;
  statements: number;
  statementsEvicted: boolean;
  /** CPU used by other processes of the machine during the rounds, in cores. */
  otherCores: number;
  sampleError?: string;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length === 0
    ? Number.NaN
    : sorted.length % 2
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

function aggregate(rounds: Round[]): Aggregate {
  const sampleError = rounds.find((round) => round.sampleError)?.sampleError;
  return {
    rounds: rounds.length,
    rps: median(rounds.map((round) => round.rps)),
    p50: median(rounds.map((round) => round.p50)),
    p99: median(rounds.map((round) => round.p99)),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
    serverCpu: median(rounds.map((round) => round.serverCpuMsPerRequest)),
    postgresCpu: median(rounds.map((round) => round.postgresCpuMsPerRequest)),
    rss: Math.max(...rounds.map((round) => round.peakRssMiB)),
    statements: median(rounds.map((round) => round.statementsPerRequest)),
    statementsEvicted: rounds.some((round) => round.statementsEvicted),
    otherCores: median(rounds.map((round) => round.otherCores)),
    ...(sampleError ? { sampleError } : {}),
  };
}

export function summarize(rounds: Round[], workloads: Workload[]): Summary[] {
  const out: Summary[] = [];
  for (const workload of workloads) {
    for (const connections of workload.connections) {
      const of = (server: string) =>
        rounds.filter((r) => r.workload === workload.id && r.connections === connections && r.server === server);
      if (of("gateway").length === 0 || of("peer").length === 0) continue;
      const gateway = aggregate(of("gateway"));
      const peer = aggregate(of("peer"));
      out.push({ workload: workload.id, connections, gateway, peer, ratio: gateway.rps / peer.rps });
    }
  }
  return out;
}

const f = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const pair = (a: string, b: string) => `${a} / ${b}`;

export function markdownTable(summaries: Summary[]): string {
  const lines = [
    "| workload | conns | gateway req/s | peer req/s | ratio | p50 ms (gw / peer) | p99 ms (gw / peer) | server CPU ms/req (gw / peer) | PostgreSQL CPU ms/req (gw / peer) | peak RSS MiB (gw / peer) | statements/req (gw / peer) | errors (gw / peer) | other load, cores (gw / peer) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const s of summaries) {
    const flag = s.gateway.errors + s.peer.errors > 0 ? " ⚠" : "";
    const evicted = s.gateway.statementsEvicted || s.peer.statementsEvicted ? " (evicted)" : "";
    lines.push(
      `| ${s.workload}${flag} | ${s.connections} | ${f(s.gateway.rps)} | ${f(s.peer.rps)} | ${f(s.ratio, 2)} | ${pair(f(s.gateway.p50, 1), f(s.peer.p50, 1))} | ` +
        `${pair(f(s.gateway.p99, 1), f(s.peer.p99, 1))} | ${pair(f(s.gateway.serverCpu, 2), f(s.peer.serverCpu, 2))} | ` +
        `${pair(f(s.gateway.postgresCpu, 2), f(s.peer.postgresCpu, 2))} | ${pair(f(s.gateway.rss), f(s.peer.rss))} | ` +
        `${pair(f(s.gateway.statements, 1), f(s.peer.statements, 1))}${evicted} | ${pair(String(s.gateway.errors), String(s.peer.errors))} | ${pair(f(s.gateway.otherCores, 2), f(s.peer.otherCores, 2))} |`,
    );
  }
  return lines.join("\n");
}

/** Lines describing the errors seen, one per workload that had any. */
export function errorNotes(summaries: Summary[]): string[] {
  const notes: string[] = [];
  for (const s of summaries) {
    for (const [name, a] of [
      ["gateway", s.gateway],
      ["peer", s.peer],
    ] as const) {
      if (a.errors > 0)
        notes.push(
          `${s.workload} at ${s.connections} connections, ${name}: ${a.errors} errors, e.g. ${a.sampleError ?? "(no body)"}`,
        );
    }
  }
  return notes;
}

export interface RunDescription {
  command: string;
  machine: string;
  date: string;
  settings: string;
  ledger: string;
  verify: string;
  equality: string;
  durationSeconds: number;
  /** Extra Markdown (the optional ledger-growth timing). */
  extra?: string;
}

export function resultsMarkdown(run: RunDescription, summaries: Summary[]): string {
  const notes = errorNotes(summaries);
  return [
    "# Benchmark results",
    "",
    "The latest run of `npm run bench` (see bench/README.md for what is measured and how). Ratio = gateway ÷ PostGraphile req/s;",
    "every other column gives both servers' medians over the rounds as `gateway / peer`. Latencies are client-side (autocannon), in ms.",
    '"Other load" is the CPU that processes outside the benchmark used during the rounds (of 2 cores when nproc is 2): the machine was',
    "not quiet when it is well above zero, and absolute figures are then low; the ratio is what to compare.",
    "",
    `- Command: \`${run.command}\``,
    `- Machine: ${run.machine}`,
    `- Date: ${run.date}`,
    `- Settings: ${run.settings}`,
    `- Ledger: ${run.ledger}`,
    `- Answers equal before timing: ${run.equality}`,
    `- Ledger verify after the write workloads: ${run.verify}`,
    `- Whole run: ${Math.round(run.durationSeconds)} s`,
    "",
    markdownTable(summaries),
    "",
    notes.length > 0
      ? [
          "Errors (⚠ marks a workload with errors):",
          "",
          ...notes.map((note) => `- ${note.replace(/\|/g, "\\|")}`),
          "",
        ].join("\n")
      : "No request failed.\n",
    run.extra ?? "",
  ].join("\n");
}
