// The side-by-side benchmark (`npm run bench`): starts a throw-away PostgreSQL with the generated ledger, the
// gateway and PostGraphile over the same tables, checks that both answer the same, then measures every
// workload in alternating rounds and prints one summary table. See bench/README.md.
//
//   npm run bench                         the full run: 10^5 actions, 3 rounds of 10 s per server, 8 and 32 connections
//   npm run bench -- --smoke              a few seconds on a small ledger, to keep the harness working (CI)
//   npm run bench -- --actions 1000000 --duration 5 --rounds 1 --workloads page,count --connections 8
//   npm run bench -- --write-results      also writes bench/RESULTS.md
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { benchDirectory, cachedLedger, prng } from "./generate.ts";
import { measureRound, type Round, type RoundContext } from "./lib/measure.ts";
import { errorNotes, markdownTable, resultsMarkdown, summarize } from "./lib/report.ts";
import { gatewayNode, peerNode, type Server } from "./lib/servers.ts";
import { type Environment, type Resources, setUp, tearDown } from "./lib/setup.ts";
import { loadPools, type ServerName, type Workload, workloads as allWorkloads } from "./lib/workloads.ts";

interface Options {
  smoke: boolean;
  actions: number;
  seed: number;
  duration: number;
  rounds: number;
  warmup: number;
  workloads: string[] | null;
  connections: number[] | null;
  writeResults: boolean;
  verifyBefore: boolean;
  /** Directory for the gateway's V8 CPU profile (`node --cpu-prof`), written when it stops; null: no profile. */
  profile: string | null;
  /** Extra Node.js options for the gateway's process (V8 flags and the like), for experiments. */
  gatewayNodeArgs: string[];
}

function parseOptions(argv: string[]): Options {
  const smoke = argv.includes("--smoke");
  const options: Options = {
    smoke,
    actions: smoke ? 2_000 : 100_000,
    seed: 1,
    duration: smoke ? 1 : 10,
    rounds: smoke ? 1 : 3,
    warmup: smoke ? 0.5 : 3,
    workloads: null,
    connections: null,
    writeResults: false,
    verifyBefore: smoke,
    profile: null,
    gatewayNodeArgs: [],
  };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index] as string;
    const value = () => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    const number = (min: number) => {
      const parsed = Number(value());
      if (!Number.isFinite(parsed) || parsed < min) throw new Error(`${flag} must be a number of at least ${min}`);
      return parsed;
    };
    switch (flag) {
      case "--smoke":
        break;
      case "--help":
        console.log(
          "npm run bench [-- --smoke] [--actions N] [--seed N] [--duration S] [--rounds N] [--warmup S]\n" +
            '  [--workloads nested,page,count,deposit,transfer,hot] [--connections 8,32] [--verify-before] [--write-results]\n  [--profile DIR] [--gateway-node-args "ARGS"]\nSee bench/README.md.',
        );
        process.exit(0);
      case "--actions":
        options.actions = Math.round(number(100));
        break;
      case "--seed":
        options.seed = Math.round(number(0));
        break;
      case "--duration":
        options.duration = number(0.5);
        break;
      case "--rounds":
        options.rounds = Math.round(number(1));
        break;
      case "--warmup":
        options.warmup = number(0);
        break;
      case "--workloads":
        options.workloads = value().split(",");
        break;
      case "--connections":
        options.connections = value().split(",").map(Number);
        if (options.connections.some((c) => !Number.isInteger(c) || c < 1))
          throw new Error("--connections takes whole numbers, e.g. 8,32");
        break;
      case "--write-results":
        options.writeResults = true;
        break;
      case "--verify-before":
        options.verifyBefore = true;
        break;
      case "--profile":
        options.profile = path.resolve(value());
        break;
      case "--gateway-node-args":
        options.gatewayNodeArgs = value().split(" ").filter(Boolean);
        break;
      default:
        throw new Error(`unknown argument ${flag}; see bench/README.md`);
    }
  }
  return options;
}

const startedAt = Date.now();
const loadAtStart = os
  .loadavg()
  .map((value) => value.toFixed(1))
  .join(", ");
const log = (line: string) =>
  console.log(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}`);

// ---------------------------------------------------------------------------------------------------------
// Requests outside the timed rounds

async function post(
  server: Server,
  apiKey: string,
  body: string,
): Promise<{ status: number; json: { data?: unknown; errors?: unknown } }> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (server.name === "gateway") headers.authorization = `Bearer ${apiKey}`;
  const response = await fetch(server.url, { method: "POST", headers, body, signal: AbortSignal.timeout(30_000) });
  return { status: response.status, json: (await response.json()) as { data?: unknown; errors?: unknown } };
}

const decodeAccount = (value: string) => {
  const decoded = Buffer.from(value, "base64").toString();
  return decoded.startsWith("CreditAccount:") ? decoded.slice("CreditAccount:".length) : value;
};

/**
 * Sends a few sample requests of every workload to both servers before any timing. Reads: the answers,
 * reduced to their values, must be equal. Writes: both must succeed and move exactly the requested amount
 * between the requested accounts (checked in the database).
 */
async function checkAnswersEqual(env: Environment, list: Workload[], client: pg.Client): Promise<string> {
  const servers: [ServerName, Server][] = [
    ["gateway", env.gateway],
    ["peer", env.peer],
  ];
  let checked = 0;
  for (const workload of list) {
    for (let sample = 0; sample < 3; sample++) {
      if (!workload.write) {
        const answers: unknown[] = [];
        for (const [name, server] of servers) {
          const { status, json } = await post(
            server,
            env.meta.apiKey,
            workload.body(name, prng(1000 + sample), "unused"),
          );
          if (status !== 200 || json.errors)
            throw new Error(`${workload.id}: ${name} answered ${status} ${JSON.stringify(json).slice(0, 500)}`);
          answers.push(JSON.stringify(workload.normalize?.(name, json.data)));
        }
        if (answers[0] !== answers[1]) {
          throw new Error(
            `ANSWERS DIFFER for workload "${workload.id}" (sample ${sample + 1}); nothing was timed.\n` +
              `gateway: ${String(answers[0]).slice(0, 1500)}\npeer:    ${String(answers[1]).slice(0, 1500)}`,
          );
        }
      } else {
        for (const [name, server] of servers) {
          const body = workload.body(name, prng(2000 + sample), `bench-check-${randomBytes(6).toString("hex")}`);
          const variables = (JSON.parse(body) as { variables: Record<string, unknown> }).variables;
          const input = (variables.input ?? variables) as Record<string, string>;
          const amount = BigInt(input.amount as string);
          const moves: [string, bigint][] =
            input.accountId || input.account
              ? [[decodeAccount(input.accountId ?? input.account ?? ""), amount]]
              : [
                  [decodeAccount(input.sourceAccountId ?? input.source ?? ""), -amount],
                  [decodeAccount(input.targetAccountId ?? input.target ?? ""), amount],
                ];
          const read = async () =>
            (
              await client.query<{ id: string; balance: string; entry_count: number }>(
                "SELECT id, balance::text, entry_count FROM credit_account WHERE id = ANY($1)",
                [moves.map(([id]) => id)],
              )
            ).rows;
          const before = await read();
          const { status, json } = await post(server, env.meta.apiKey, body);
          const text = JSON.stringify(json);
          if (status !== 200 || json.errors || (text.includes('"userErrors"') && !text.includes('"userErrors":[]'))) {
            throw new Error(`${workload.id}: ${name} failed: ${status} ${text.slice(0, 500)}`);
          }
          const after = await read();
          for (const [id, delta] of moves) {
            const b = before.find((row) => row.id === id);
            const a = after.find((row) => row.id === id);
            if (!a || !b || BigInt(a.balance) - BigInt(b.balance) !== delta || a.entry_count !== b.entry_count + 1) {
              throw new Error(
                `${workload.id}: ${name}'s write did not move ${delta} on account ${id} (before ${JSON.stringify(b)}, after ${JSON.stringify(a)})`,
              );
            }
          }
        }
      }
      checked++;
    }
  }
  return `yes (${checked} sample requests per server; reads compared value by value, writes checked in the database)`;
}

async function verifyLedgerClean(env: Environment): Promise<{ clean: boolean; text: string }> {
  const started = Date.now();
  // The repository's own checker, on the same database.
  const { openDatabase } = await import("../src/db/client.ts");
  const { verifyLedger } = await import("../src/ledger/verify.ts");
  const database = await openDatabase(env.adminUrl, { poolSize: 2 });
  try {
    const problems = await verifyLedger(database, { tenantId: env.meta.tenantId });
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    if (problems.length === 0) return { clean: true, text: `clean (src/ledger/verify.ts, ${seconds} s)` };
    const sample = problems
      .slice(0, 5)
      .map((p) => `${p.kind} ${p.id}: ${p.message}`)
      .join("; ");
    return { clean: false, text: `NOT CLEAN: ${problems.length} discrepancies, e.g. ${sample}` };
  } finally {
    await database.close();
  }
}

interface TopStatements {
  workload: string;
  /** Per server: its most frequent statements in this workload's rounds, with calls per request sent. */
  servers: Record<ServerName, { query: string; perRequest: number; meanMs: number }[]>;
}

async function topStatements(client: pg.Client, workload: string, rounds: Round[]): Promise<TopStatements> {
  const servers = {} as TopStatements["servers"];
  for (const name of ["gateway", "peer"] as const) {
    const requests = rounds.filter((r) => r.server === name).reduce((sum, r) => sum + r.sent, 0);
    const { rows } = await client.query<{ query: string; calls: string; mean: number }>(
      "SELECT s.query, s.calls::text AS calls, s.mean_exec_time AS mean FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid " +
        "WHERE r.rolname = $1 ORDER BY s.calls DESC LIMIT 12",
      [name],
    );
    servers[name] = rows.map((row) => ({
      query: row.query.replace(/\s+/g, " ").slice(0, 240),
      perRequest: requests > 0 ? Number(row.calls) / requests : 0,
      meanMs: row.mean,
    }));
  }
  return { workload, servers };
}

/** The gateway's most frequent statements per workload, as a collapsed Markdown section. */
function statementsMarkdown(list: TopStatements[]): string {
  const out = [
    "<details><summary>The gateway's most frequent statements per workload (calls per request sent, mean ms)</summary>",
    "",
  ];
  for (const entry of list) {
    out.push(`**${entry.workload}**`, "", "| calls/req | mean ms | statement |", "| ---: | ---: | --- |");
    for (const row of entry.servers.gateway.slice(0, 10)) {
      out.push(
        `| ${row.perRequest.toFixed(2)} | ${row.meanMs.toFixed(2)} | \`${row.query.replace(/\|/g, "\\|").replace(/`/g, "'")}\` |`,
      );
    }
    out.push("");
  }
  out.push("</details>", "");
  return out.join("\n");
}

function describeMachine(postgresVersion: string): string {
  const model =
    /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ??
    os.cpus()[0]?.model ??
    "unknown CPU";
  const cores = execFileSync("nproc", { encoding: "utf8" }).trim();
  const memory = Math.round(os.totalmem() / 2 ** 30);
  const peerVersion = execFileSync(peerNode(), ["--version"], { encoding: "utf8" }).trim();
  const gatewayVersion = execFileSync(gatewayNode(), ["--version"], { encoding: "utf8" }).trim();
  return `${cores} cores (nproc), ${model}, ${memory} GiB RAM, ${os.type()}; gateway on Node ${gatewayVersion.replace(/^v/, "")}, PostGraphile on Node ${peerVersion.replace(/^v/, "")}, PostgreSQL ${postgresVersion}; load average ${loadAtStart} at the start of the run`;
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  peerNode(); // fails early, with instructions, when the bench's packages are not installed
  // Generated first, before the signal handlers: generation is one synchronous loop that a handler could not
  // interrupt, and nothing needs cleaning up yet (setUp then finds the ledger in the cache).
  cachedLedger(options.actions, options.seed, log);
  const resources: Resources = {};
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      log(`${signal}: stopping the servers and PostgreSQL`);
      void tearDown(resources, log).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }

  let client: pg.Client | undefined;
  try {
    const env = await setUp(options.actions, options.seed, resources, log, {
      profile: options.profile,
      nodeArgs: options.gatewayNodeArgs,
    });
    client = new pg.Client({ connectionString: env.adminUrl });
    await client.connect();
    const pools = await loadPools(client, env.meta.hotAccountIds);
    const list = allWorkloads(pools)
      .filter((w) => !options.workloads || options.workloads.includes(w.id))
      .map((w) => ({
        ...w,
        // The smoke run keeps each workload's first connection count only (8; 32 for the hot accounts).
        connections: options.connections ?? (options.smoke ? w.connections.slice(0, 1) : w.connections),
      }))
      .filter((w) => w.connections.length > 0);
    if (list.length === 0) throw new Error("no workload selected");

    if (options.verifyBefore) {
      const verify = await verifyLedgerClean(env);
      log(`verify before timing: ${verify.text}`);
      if (!verify.clean) throw new Error("the generated ledger is not clean");
    }
    const equality = await checkAnswersEqual(env, list, client);
    log(`answers equal: ${equality}`);

    const context: RoundContext = {
      client,
      postmasterPid: env.cluster.postmasterPid(),
      apiKey: env.meta.apiKey,
      random: prng(options.seed + 7),
      runId: randomBytes(4).toString("hex"),
    };
    const servers = { gateway: env.gateway, peer: env.peer };
    if (options.warmup > 0) {
      log(`warm-up: ${options.warmup} s per workload and server`);
      for (const workload of list) {
        for (const server of [env.gateway, env.peer])
          await measureRound(context, server, workload, 8, options.warmup, 0);
      }
    }

    const rounds: Round[] = [];
    const statements: TopStatements[] = [];
    for (const workload of list) {
      // Counted from zero per workload, so that its most frequent statements can be listed afterwards.
      await client.query("SELECT pg_stat_statements_reset()");
      for (const connections of workload.connections) {
        for (let round = 1; round <= options.rounds; round++) {
          const order: ServerName[] = round % 2 === 1 ? ["gateway", "peer"] : ["peer", "gateway"];
          for (const name of order) {
            const result = await measureRound(context, servers[name], workload, connections, options.duration, round);
            rounds.push(result);
            if (!result.drained) log(`warning: ${name} was still busy a minute after the round ended`);
            log(
              `${workload.id} c=${connections} round ${round} ${name.padEnd(7)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms` +
                `  errors ${result.errors}  cpu ${result.serverCpuMsPerRequest.toFixed(2)}+${result.postgresCpuMsPerRequest.toFixed(2)} ms/req  stmts ${result.statementsPerRequest.toFixed(1)}/req  other load ${result.otherCores.toFixed(2)} cores`,
            );
          }
        }
      }
      statements.push(
        await topStatements(
          client,
          workload.id,
          rounds.filter((r) => r.workload === workload.id),
        ),
      );
    }

    const wrote = list.some((w) => w.write);
    const verify = wrote ? await verifyLedgerClean(env) : { clean: true, text: "not run (no write workload selected)" };
    log(`verify after the write workloads: ${verify.text}`);

    const summaries = summarize(rounds, list);
    const table = markdownTable(summaries);
    console.log(`\n${table}\n`);
    const notes = errorNotes(summaries);
    for (const note of notes) console.log(`errors: ${note}`);
    writeFileSync(
      path.join(benchDirectory, ".cache", "last-run.json"),
      JSON.stringify({ options, rounds, summaries, statements }, null, 2),
    );

    if (options.writeResults) {
      const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
      const markdown = resultsMarkdown(
        {
          command,
          machine: describeMachine(env.cluster.version),
          date: `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
          settings: `${options.rounds} rounds of ${options.duration} s per server, workload and connection count, alternating which server goes first; ${options.warmup} s warm-up per workload and server at 8 connections`,
          ledger: `${env.meta.actions} actions (seed ${env.meta.seed}): ${env.meta.customers} customers, ${env.meta.accounts} accounts, ${env.meta.entries} entries, ${env.meta.grants} grants`,
          verify: verify.text,
          equality,
          durationSeconds: (Date.now() - startedAt) / 1000,
          extra: statementsMarkdown(statements),
        },
        summaries,
      );
      writeFileSync(path.join(benchDirectory, "RESULTS.md"), markdown);
      log("wrote bench/RESULTS.md");
    }
    const failed = !verify.clean || (options.smoke && notes.length > 0);
    log(`finished in ${((Date.now() - startedAt) / 1000).toFixed(0)} s${failed ? " (FAILED)" : ""}`);
    return failed ? 1 : 0;
  } catch (error) {
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await client?.end().catch(() => {});
    if (!interrupted) await tearDown(resources, log);
  }
}

process.exit(await main());
