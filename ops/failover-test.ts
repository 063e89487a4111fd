// Failover test (`npm run test:failover`): starts the local topology (ops/topology.sh) with two gateway
// instances, runs a concurrent write load through both, and in the middle loses the primary node: its
// Patroni and its PostgreSQL (the postmaster and every backend) are killed with SIGKILL, so Patroni
// promotes the synchronous standby once the leader key expires. Clients do what real clients do: a write
// that fails in a retryable way (connection error, timeout, 5xx, INTERNAL_SERVER_ERROR, LEDGER_BUSY) is sent
// again with the same idempotency key, to the same instance, until it is answered or the test's deadline.
//
// Then it checks, on the new primary: every acknowledged write is stored exactly once and as sent; the
// total of the accounts equals the opening deposits plus the stored deposits minus the stored reductions;
// no balance is below its floor (minus the overdraft limit); the ledger's verify() finds nothing; both
// gateways serve a write and a read again without having been restarted; and throughout, a write
// acknowledged by one instance was seen by the very next read on the other (read-after-write through
// PgBouncer). It prints the writes attempted, acknowledged and failed (by code) and the unavailability
// window: from the first failed write after the kill to the first acknowledged write sent after it.
//
// Exits 0 when every check holds, 1 otherwise. Starting the topology is bounded (4 minutes; most of it is
// Prisma's migration on a busy machine), and so is the test after it (5 minutes; about 1.5 in practice).
// Options:
//   --postgres-only  kill only the primary's PostgreSQL; its Patroni restarts it in place (no failover)
//   --direct         the instances connect to HAProxy's primary port instead of PgBouncer, to compare
//   --keep           leave the topology running afterwards; stop it with
//                    HA_BASE_PORT=<port> HA_STATE_POINTER=ops/.topology-failover-<port> ops/topology.sh stop
// HA_BASE_PORT (default 17400) moves its ports away from another topology on the same machine.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

const repo = path.resolve(import.meta.dirname, "..");
const basePort = process.env.HA_BASE_PORT ?? "17400";
const pointer = path.join(repo, "ops", `.topology-failover-${basePort}`);
const keep = process.argv.includes("--keep");
// --direct: the instances connect to HAProxy's primary port instead of PgBouncer, to compare.
const gatewayDatabase = process.argv.includes("--direct") ? "direct" : "pgbouncer";
// --postgres-only: kill the primary's PostgreSQL but not its Patroni, which restarts it in place (no
// failover): the database-restart case, for comparison.
const postgresOnly = process.argv.includes("--postgres-only");
const startBoundMs = 240_000;
const testBoundMs = Number(process.env.FAILOVER_TEST_BOUND_MS ?? 300_000);
const topologyEnv: NodeJS.ProcessEnv = {
  ...process.env,
  HA_STATE_POINTER: pointer,
  HA_BASE_PORT: basePort,
  HA_INSTANCES: "2",
  HA_GATEWAY_DATABASE: gatewayDatabase,
  // The load is far above the default 600 requests a minute per key.
  RATE_LIMIT_REQUESTS: "0",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
};

// ---------------------------------------------------------------------------------------------------------
// Timing and bounds

const began = Date.now();
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const log = (message: string) => console.log(`[failover ${seconds(Date.now() - began).padStart(5)}s] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function runTopology(
  command: "start" | "stop" | "status",
  timeoutMs?: number,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(repo, "ops", "topology.sh"), command], {
      cwd: repo,
      env: topologyEnv,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    // A start that outlasts its bound is interrupted; its EXIT trap stops what it had started.
    const timer = timeoutMs ? setTimeout(() => child.kill("SIGTERM"), timeoutMs) : undefined;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

let stopping: Promise<unknown> | null = null;
function stopTopology(): Promise<unknown> {
  if (keep) return Promise.resolve();
  stopping ??= (async () => {
    const stopBegan = Date.now();
    await runTopology("stop");
    log(`topology stopped in ${seconds(Date.now() - stopBegan)} s`);
  })();
  return stopping;
}

let hardBound: NodeJS.Timeout | undefined;
function boundTheTest(): void {
  hardBound = setTimeout(() => {
    console.error(`FAIL: the test did not finish within ${testBoundMs / 1000} s of the topology's start`);
    void stopTopology().finally(() => process.exit(1));
  }, testBoundMs);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void stopTopology().finally(() => process.exit(1)));
}

// ---------------------------------------------------------------------------------------------------------
// The topology's facts, from the file ops/topology.sh writes

interface Topology {
  stateDir: string;
  tenantId: string;
  apiKey: string;
  gateways: string[];
  directUrl: string;
  restPorts: Record<"node1" | "node2", number>;
}

function readTopology(): Topology {
  const stateDir = readFileSync(pointer, "utf8").trim();
  const values = new Map<string, string>();
  for (const line of readFileSync(path.join(stateDir, "topology.env"), "utf8").split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) values.set(match[1]!, match[2]!.replace(/^"(.*)"$/, "$1"));
  }
  const get = (name: string) => {
    const value = values.get(name);
    if (!value) throw new Error(`${name} missing from the topology's state`);
    return value;
  };
  return {
    stateDir,
    tenantId: get("HA_TENANT_ID"),
    apiKey: get("HA_API_KEY"),
    gateways: get("HA_GATEWAY_URLS").split(" "),
    directUrl: get("HA_DIRECT_URL"),
    restPorts: { node1: Number(get("HA_NODE1_REST_PORT")), node2: Number(get("HA_NODE2_REST_PORT")) },
  };
}

// ---------------------------------------------------------------------------------------------------------
// GraphQL over HTTP, with every failure turned into a short code

type Outcome =
  | { kind: "ok"; data: Record<string, unknown> }
  | { kind: "refused"; code: string } // a business refusal: final, nothing written
  | { kind: "retry"; code: string } // a fault: send again with the same idempotency key
  | { kind: "fatal"; code: string }; // an answer a correct gateway never gives here

const retryableErrorCodes = new Set(["INTERNAL_SERVER_ERROR", "OVERLOADED", "MAINTENANCE", "LEDGER_BUSY"]);
const requestTimeoutMs = 5_000;

async function graphql(
  topology: Topology,
  url: string,
  query: string,
  variables: Record<string, unknown>,
  timeoutMs = requestTimeoutMs,
): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${topology.apiKey}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const { name, cause } = error as { name?: string; cause?: { code?: string } };
    if (name === "TimeoutError") return { kind: "retry", code: "TIMEOUT" };
    return { kind: "retry", code: cause?.code ?? "CONNECTION_ERROR" };
  }
  let body: { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    return { kind: response.status >= 500 ? "retry" : "fatal", code: `HTTP_${response.status}` };
  }
  const topCode = body.errors?.[0]?.extensions?.code;
  if (topCode) {
    const code = `${topCode}${response.status === 200 ? "" : ` (HTTP ${response.status})`}`;
    return { kind: retryableErrorCodes.has(topCode) || response.status >= 500 ? "retry" : "fatal", code };
  }
  if (!body.data) return { kind: response.status >= 500 ? "retry" : "fatal", code: `HTTP_${response.status}` };
  const payload = Object.values(body.data)[0] as { userErrors?: { code: string }[] } | null;
  const userError = payload?.userErrors?.[0]?.code;
  if (userError === "LEDGER_BUSY") return { kind: "retry", code: userError };
  if (userError === "INSUFFICIENT_CREDITS") return { kind: "refused", code: userError };
  if (userError) return { kind: "fatal", code: userError };
  return { kind: "ok", data: body.data };
}

/**
 * A setup step that must succeed. The topology is healthy at this point, but a loaded machine can be slow:
 * a generous timeout, so that a step without an idempotency key is not sent twice.
 */
async function must(
  topology: Topology,
  query: string,
  variables: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await graphql(
      topology,
      topology.gateways[attempt % topology.gateways.length]!,
      query,
      variables,
      60_000,
    );
    if (outcome.kind === "ok") return outcome.data;
    if (outcome.kind !== "retry" || attempt >= 10) throw new Error(`setup failed: ${outcome.code}`);
    await sleep(200);
  }
}

/** The database id inside a Relay global id ("CreditAccount:<uuid>", base64). */
const rawId = (globalId: string) => Buffer.from(globalId, "base64").toString().split(":").slice(1).join(":");

const depositMutation = `mutation($input: DepositInput!) {
  deposit(input: $input) { replayed action { id } accounts { id balance } userErrors { code } } }`;
const reduceMutation = `mutation($input: ReduceInput!) {
  reduce(input: $input) { replayed action { id } userErrors { code } } }`;
const transferMutation = `mutation($input: TransferInput!) {
  transfer(input: $input) { replayed action { id } userErrors { code } } }`;
const balanceQuery = `query($id: ID!) { node(id: $id) { ... on CreditAccount { balance } } }`;

// ---------------------------------------------------------------------------------------------------------
// The load

interface Attempt {
  sentAt: number;
  endedAt: number;
  outcome: Outcome["kind"];
  code?: string;
}

interface Write {
  key: string;
  kind: "DEPOSIT" | "REDUCTION" | "TRANSFER";
  amount: bigint;
  source?: string; // raw account ids
  target?: string;
  instance: number;
  attempts: Attempt[];
  result: "acknowledged" | "refused" | "unacknowledged" | "fatal";
  replayed?: boolean;
}

interface Load {
  writes: Write[];
  stopSending: boolean;
  deadline: number; // no attempt is sent after this
}

async function sendWrite(
  topology: Topology,
  load: Load,
  write: Write,
  accountGlobalIds: Map<string, string>,
): Promise<void> {
  const url = topology.gateways[write.instance]!;
  const input: Record<string, unknown> = { amount: String(write.amount), idempotencyKey: write.key };
  let query: string;
  if (write.kind === "TRANSFER") {
    query = transferMutation;
    input.sourceAccountId = accountGlobalIds.get(write.source!);
    input.targetAccountId = accountGlobalIds.get(write.target!);
  } else {
    query = write.kind === "DEPOSIT" ? depositMutation : reduceMutation;
    input.accountId = accountGlobalIds.get((write.target ?? write.source)!);
  }
  for (let attempt = 0; ; attempt++) {
    const sentAt = Date.now();
    const outcome = await graphql(topology, url, query, { input });
    const record: Attempt = { sentAt, endedAt: Date.now(), outcome: outcome.kind };
    if (outcome.kind !== "ok") record.code = outcome.code;
    write.attempts.push(record);
    if (outcome.kind === "ok") {
      write.result = "acknowledged";
      const payload = Object.values(outcome.data)[0] as { replayed?: boolean };
      write.replayed = payload.replayed === true;
      return;
    }
    if (outcome.kind === "refused") {
      write.result = "refused";
      return;
    }
    if (outcome.kind === "fatal") {
      write.result = "fatal";
      return;
    }
    const pause = Math.min(100 * 2 ** attempt, 1_000) * (0.5 + Math.random());
    if (Date.now() + pause > load.deadline) {
      write.result = "unacknowledged";
      return;
    }
    await sleep(pause);
  }
}

async function worker(
  topology: Topology,
  load: Load,
  instance: number,
  accounts: string[],
  accountGlobalIds: Map<string, string>,
) {
  while (!load.stopSending && Date.now() < load.deadline) {
    const roll = Math.random();
    const amount = BigInt(1 + Math.floor(Math.random() * 100));
    const pick = () => accounts[Math.floor(Math.random() * accounts.length)]!;
    const write: Write = {
      key: `failover-${load.writes.length + 1}-${Math.random().toString(36).slice(2, 8)}`,
      kind: roll < 0.6 ? "TRANSFER" : roll < 0.8 ? "DEPOSIT" : "REDUCTION",
      amount,
      instance,
      attempts: [],
      result: "unacknowledged",
    };
    if (write.kind === "TRANSFER") {
      write.source = pick();
      do write.target = pick();
      while (write.target === write.source);
    } else if (write.kind === "DEPOSIT") write.target = pick();
    else write.source = pick();
    load.writes.push(write);
    await sendWrite(topology, load, write, accountGlobalIds);
  }
}

// Read-after-write across instances: deposit 1 through one instance, then read the balance through the other.
interface ReadAfterWrite {
  checked: number;
  stale: { expected: string; seen: string; at: number }[];
  unreadable: number;
}

async function readAfterWriteProbe(topology: Topology, load: Load, accountId: string, result: ReadAfterWrite) {
  for (let index = 0; !load.stopSending && Date.now() < load.deadline; index++) {
    const writer = index % 2;
    const reader = 1 - writer;
    const write = await graphql(topology, topology.gateways[writer]!, depositMutation, {
      input: { accountId, amount: "1", idempotencyKey: `probe-${index}` },
    });
    if (write.kind !== "ok") {
      // Sent again with the same key (index-- undoes the loop's step); a fault is not a read-after-write case.
      index--;
      await sleep(200);
      continue;
    }
    const deposit = write.data.deposit as { accounts: { balance: string }[] };
    const expected = deposit.accounts[0]!.balance;
    const read = await graphql(topology, topology.gateways[reader]!, balanceQuery, { id: accountId });
    if (read.kind !== "ok") {
      result.unreadable++;
    } else {
      const seen = (read.data.node as { balance: string }).balance;
      result.checked++;
      if (seen !== expected) result.stale.push({ expected, seen, at: Date.now() });
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Losing the primary node

async function primaryNode(topology: Topology): Promise<"node1" | "node2" | null> {
  for (const node of ["node1", "node2"] as const) {
    try {
      const response = await fetch(`http://127.0.0.1:${topology.restPorts[node]}/primary`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (response.status === 200) return node;
    } catch {
      // not this one
    }
  }
  return null;
}

function killNode(topology: Topology, node: "node1" | "node2"): string[] {
  const killed: string[] = [];
  const patroni = readFileSync(path.join(topology.stateDir, "pids"), "utf8")
    .split("\n")
    .map((line) => line.split(" "))
    .find(([name]) => name === `patroni-${node}`);
  const postmaster = Number(
    readFileSync(path.join(topology.stateDir, node, "data", "postmaster.pid"), "utf8").split("\n")[0],
  );
  // The postmaster's children (backends, walsender, checkpointer...), so the node is gone as a whole, as
  // when a machine is lost, instead of backends lingering until they notice their parent is dead.
  const listed = spawnSync("pgrep", ["-P", String(postmaster)], { encoding: "utf8" }).stdout ?? "";
  const children = listed.split(/\s+/).filter(Boolean).map(Number);
  const targets: [string, number][] = [
    [`patroni-${node}`, postgresOnly ? Number.NaN : Number(patroni?.[1])],
    [`postgres ${node}`, postmaster],
    ...children.map((child): [string, number] => ["child", child]),
  ];
  let childrenKilled = 0;
  for (const [label, pid] of targets) {
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, "SIGKILL");
      if (label === "child") childrenKilled++;
      else killed.push(`${label} (${pid})`);
    } catch (error) {
      killed.push(`${label} (${pid}): ${(error as Error).message}`);
    }
  }
  killed.push(`${childrenKilled} PostgreSQL child processes`);
  return killed;
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (existsSync(pointer)) {
    log("a previous failover topology is recorded; stopping it first");
    await runTopology("stop");
  }
  log("starting the topology (ops/topology.sh start)");
  const startBegan = Date.now();
  const started = await runTopology("start", startBoundMs);
  if (started.code !== 0) {
    console.error(`FAIL: the topology did not start (exit ${started.code}; bounded to ${startBoundMs / 1000} s)`);
    return 1;
  }
  boundTheTest();
  const startSeconds = (Date.now() - startBegan) / 1000;
  log(`topology started in ${startSeconds.toFixed(1)} s`);
  const topology = readTopology();

  // Setup: one customer, six accounts with 100 each (one with an overdraft limit of 100), and one account
  // for the read-after-write probe. The balances are small next to the amounts moved (1..100), so many
  // reductions and transfers are refused with INSUFFICIENT_CREDITS and the floors are really tested.
  const customer = await must(
    topology,
    `mutation { createCustomer(input: { externalId: "failover" }) { customer { id } userErrors { code } } }`,
    {},
  );
  const customerId = (customer.createCustomer as { customer: { id: string } }).customer.id;
  const accountGlobalIds = new Map<string, string>();
  const accounts: string[] = [];
  const opening = 100n;
  for (let index = 0; index < 6; index++) {
    const opened = await must(
      topology,
      `mutation($input: OpenCreditAccountInput!) { openCreditAccount(input: $input) { account { id } userErrors { code } } }`,
      {
        input: {
          customerId,
          name: `load ${index}`,
          currency: "PTS",
          ...(index === 0 ? { overdraftLimit: "100" } : {}),
        },
      },
    );
    const id = (opened.openCreditAccount as { account: { id: string } }).account.id;
    accountGlobalIds.set(rawId(id), id);
    accounts.push(rawId(id));
    await must(topology, depositMutation, {
      input: { accountId: id, amount: String(opening), idempotencyKey: `opening-${index}` },
    });
  }
  const probe = await must(
    topology,
    `mutation { openCreditAccount(input: { customerId: "${customerId}", name: "probe", currency: "PTS" }) { account { id } userErrors { code } } }`,
    {},
  );
  const probeAccount = (probe.openCreditAccount as { account: { id: string } }).account.id;

  // The load: 8 writers, 4 on each instance, plus the read-after-write probe.
  const load: Load = { writes: [], stopSending: false, deadline: Date.now() + 120_000 };
  const readAfterWrite: ReadAfterWrite = { checked: 0, stale: [], unreadable: 0 };
  log("load running: 8 concurrent writers (transfers, deposits, reductions), 4 per instance");
  const loadBegan = Date.now();
  const workers = Array.from({ length: 8 }, (_, index) =>
    worker(topology, load, index % 2, accounts, accountGlobalIds),
  );
  const prober = readAfterWriteProbe(topology, load, probeAccount, readAfterWrite);

  await sleep(6_000);
  const leader = await primaryNode(topology);
  if (!leader) {
    load.stopSending = true;
    await Promise.all([...workers, prober]);
    console.error("FAIL: no node reports itself primary before the kill");
    return 1;
  }
  const ackedBeforeKill = load.writes.filter((write) => write.result === "acknowledged").length;
  const killedAt = Date.now();
  const killed = killNode(topology, leader);
  log(
    `killed the primary node ${leader} with SIGKILL: ${killed.join(", ")} (${ackedBeforeKill} writes acknowledged before)`,
  );
  load.deadline = killedAt + 90_000;

  // Until each instance has acknowledged a write sent after the kill, then 5 s more of load.
  const recoveredAt: (number | null)[] = [null, null];
  let newLeader: string | null = null;
  let newLeaderAt: number | null = null;
  while (Date.now() < killedAt + 80_000) {
    for (const instance of [0, 1]) {
      if (recoveredAt[instance] !== null) continue;
      const first = load.writes
        .filter((write) => write.instance === instance)
        .flatMap((write) => write.attempts)
        .filter((attempt) => attempt.outcome === "ok" && attempt.sentAt > killedAt)
        .map((attempt) => attempt.endedAt)
        .sort((a, b) => a - b)[0];
      if (first !== undefined) recoveredAt[instance] = first;
    }
    // (With --postgres-only the leader does not change; the primary is looked up after the load instead.)
    if (newLeader === null && !postgresOnly) {
      const current = await primaryNode(topology);
      if (current && current !== leader) {
        newLeader = current;
        newLeaderAt = Date.now();
        log(`${current} is the primary now (${seconds(newLeaderAt - killedAt)} s after the kill)`);
      }
    }
    if (recoveredAt.every((at) => at !== null)) break;
    await sleep(250);
  }
  if (recoveredAt.every((at) => at !== null)) await sleep(5_000);
  load.stopSending = true;
  log("load stopped; waiting for the writes still being retried");
  await Promise.all([...workers, prober]);
  if (postgresOnly) newLeader = await primaryNode(topology);

  // Both instances serve again without a restart: on each, a burst of twice its pool size of concurrent
  // writes (a pool that lost connections in the failover would stall here), then a read.
  const serving: string[] = [];
  const burstSize = 2 * Number(process.env.HA_POOL_SIZE ?? 10);
  const burstTimes: string[] = [];
  for (const [instance, url] of topology.gateways.entries()) {
    const burstBegan = Date.now();
    const burst: Load = { writes: load.writes, stopSending: true, deadline: burstBegan + 30_000 };
    const writes = Array.from(
      { length: burstSize },
      (_, index): Write => ({
        key: `after-${instance}-${index}`,
        kind: "DEPOSIT",
        amount: 1n,
        target: accounts[index % accounts.length]!,
        instance,
        attempts: [],
        result: "unacknowledged",
      }),
    );
    load.writes.push(...writes);
    await Promise.all(writes.map((write) => sendWrite(topology, burst, write, accountGlobalIds)));
    const acknowledged = writes.filter((write) => write.result === "acknowledged").length;
    burstTimes.push(`gateway ${instance + 1} ${acknowledged}/${burstSize} in ${seconds(Date.now() - burstBegan)} s`);
    const read = await graphql(topology, url, balanceQuery, { id: accountGlobalIds.get(accounts[1]!) });
    let ready = "unreachable";
    try {
      ready = String((await fetch(url.replace(/\/graphql$/, "/ready"), { signal: AbortSignal.timeout(3_000) })).status);
    } catch {
      // stays "unreachable"
    }
    if (acknowledged < burstSize || read.kind !== "ok") {
      const codes = [
        ...new Set(
          writes
            .flatMap((write) => write.attempts)
            .filter((attempt) => attempt.code)
            .map((attempt) => attempt.code),
        ),
      ];
      serving.push(
        `gateway ${instance + 1}: ${acknowledged}/${burstSize} concurrent writes acknowledged within 30 s (failures: ${codes.join(", ") || "none"}), read ${read.kind === "ok" ? "ok" : read.code}, /ready ${ready}`,
      );
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // Checks, on the new primary through HAProxy's primary port
  const violations: string[] = [];
  const client = new pg.Client({ connectionString: topology.directUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  const stored = new Map<string, { type: string; amount: bigint; source: string | null; target: string | null }>();
  let probeDeposits = 0;
  try {
    const rows = await client.query<{
      idempotency_key: string;
      type: string;
      amount: string;
      source_account_id: string | null;
      target_account_id: string | null;
    }>(
      `SELECT idempotency_key, type, amount::text AS amount, source_account_id, target_account_id
         FROM credit_action WHERE tenant_id = $1 AND idempotency_key IS NOT NULL`,
      [topology.tenantId],
    );
    for (const row of rows.rows) {
      if (stored.has(row.idempotency_key)) violations.push(`idempotency key ${row.idempotency_key} stored twice`);
      stored.set(row.idempotency_key, {
        type: row.type,
        amount: BigInt(row.amount),
        source: row.source_account_id,
        target: row.target_account_id,
      });
      if (row.idempotency_key.startsWith("probe-")) probeDeposits++;
    }
    const perKey = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT idempotency_key FROM credit_action WHERE tenant_id = $1 AND idempotency_key IS NOT NULL
         GROUP BY idempotency_key HAVING count(*) > 1) AS duplicates`,
      [topology.tenantId],
    );
    if (perKey.rows[0]?.n !== "0") violations.push(`${perKey.rows[0]?.n} idempotency keys stored more than once`);

    // Every acknowledged write stored exactly once, as sent; refused ones not at all.
    let unacknowledgedButStored = 0;
    for (const write of load.writes) {
      const row = stored.get(write.key);
      if (write.result === "acknowledged") {
        if (!row) violations.push(`acknowledged write ${write.key} (${write.kind} ${write.amount}) is missing`);
        else if (
          row.type !== write.kind ||
          row.amount !== write.amount ||
          (row.source ?? undefined) !== write.source ||
          (row.target ?? undefined) !== write.target
        ) {
          violations.push(
            `write ${write.key} stored as ${row.type} ${row.amount} ${row.source}->${row.target}, sent as ${write.kind} ${write.amount}`,
          );
        }
      } else if (row) {
        if (write.result === "refused") violations.push(`refused write ${write.key} was stored`);
        else unacknowledgedButStored++;
      }
    }
    const ours = new Set(load.writes.map((write) => write.key));
    const strangers = [...stored.keys()].filter((key) => !ours.has(key) && !/^(opening-|probe-)/.test(key));
    if (strangers.length > 0) violations.push(`stored writes nobody sent: ${strangers.slice(0, 5).join(", ")}`);

    // Totals conserved: the opening deposits, plus every stored load deposit, minus every stored reduction.
    let expected = opening * BigInt(accounts.length);
    for (const write of load.writes) {
      const row = stored.get(write.key);
      if (!row) continue;
      if (write.kind === "DEPOSIT") expected += write.amount;
      if (write.kind === "REDUCTION") expected -= write.amount;
    }
    const total = await client.query<{ total: string }>(
      `SELECT coalesce(sum(balance), 0)::text AS total FROM credit_account WHERE id = ANY($1)`,
      [accounts],
    );
    const actual = BigInt(total.rows[0]!.total);
    if (actual !== expected) violations.push(`total is ${actual}, expected ${expected}`);
    const below = await client.query<{ id: string; balance: string; overdraft_limit: string }>(
      `SELECT id, balance::text, overdraft_limit::text FROM credit_account WHERE tenant_id = $1 AND balance < -overdraft_limit`,
      [topology.tenantId],
    );
    for (const row of below.rows)
      violations.push(`account ${row.id} balance ${row.balance} is below its floor -${row.overdraft_limit}`);
    const probeBalance = await client.query<{ balance: string }>(
      `SELECT balance::text FROM credit_account WHERE id = $1`,
      [rawId(probeAccount)],
    );
    if (probeBalance.rows[0]?.balance !== String(probeDeposits)) {
      violations.push(
        `probe account holds ${probeBalance.rows[0]?.balance}, but ${probeDeposits} probe deposits are stored`,
      );
    }

    // The ledger's own verification, on the new primary.
    const { openDatabase } = await import("../src/db/client.ts");
    const { createLedger } = await import("../src/ledger/index.ts");
    const database = await openDatabase(topology.directUrl, { poolSize: 2 });
    let discrepancies: { kind: string; id: string; message: string }[] = [];
    try {
      discrepancies = await createLedger(database).verify({ tenantId: topology.tenantId });
    } finally {
      await database.close();
    }
    for (const discrepancy of discrepancies.slice(0, 10))
      violations.push(`verify: ${discrepancy.kind} ${discrepancy.id}: ${discrepancy.message}`);
    if (discrepancies.length > 10) violations.push(`verify: ${discrepancies.length - 10} more discrepancies`);

    // ----------------------------------------------------------------------------------------------------
    // Summary
    const attempts = load.writes.flatMap((write) => write.attempts);
    const failures = attempts.filter((attempt) => attempt.outcome === "retry" || attempt.outcome === "fatal");
    const byCode = new Map<string, number>();
    for (const attempt of failures) byCode.set(attempt.code!, (byCode.get(attempt.code!) ?? 0) + 1);
    const count = (result: Write["result"]) => load.writes.filter((write) => write.result === result).length;
    const firstFailure = failures
      .filter((attempt) => attempt.endedAt >= killedAt)
      .sort((a, b) => a.endedAt - b.endedAt)[0];
    const firstSuccessAfter = firstFailure
      ? attempts
          .filter((attempt) => attempt.outcome === "ok" && attempt.sentAt >= firstFailure.endedAt)
          .sort((a, b) => a.endedAt - b.endedAt)[0]
      : undefined;
    const lastFailure = failures
      .filter((attempt) => attempt.endedAt >= killedAt)
      .sort((a, b) => b.endedAt - a.endedAt)[0];
    const window = firstFailure && firstSuccessAfter ? firstSuccessAfter.endedAt - firstFailure.endedAt : null;
    // A write in flight at the kill may fail only at the client's timeout: the outage it saw began when it
    // was sent (or at the kill, if sent before). That window is reported beside the one between answers.
    const firstFailedSent = failures
      .filter((attempt) => attempt.endedAt >= killedAt)
      .reduce((earliest, attempt) => Math.min(earliest, Math.max(killedAt, attempt.sentAt)), Number.POSITIVE_INFINITY);

    console.log("\n=== Failover test summary ===");
    console.log(
      `lost: ${postgresOnly ? "the primary's PostgreSQL only (Patroni restarts it in place)" : "the primary node (Patroni and PostgreSQL)"}`,
    );
    console.log(
      `instances connect through: ${gatewayDatabase === "direct" ? "HAProxy's primary port (no PgBouncer)" : "PgBouncer"}`,
    );
    console.log(
      `topology start: ${startSeconds.toFixed(1)} s; primary lost: ${leader}; ${postgresOnly ? "primary afterwards" : "new primary"}: ${newLeader ?? "none seen"}${newLeaderAt ? ` (${seconds(newLeaderAt - killedAt)} s after the kill)` : ""}`,
    );
    console.log(
      `writes: ${load.writes.length} sent (${attempts.length} attempts), ${count("acknowledged")} acknowledged (${load.writes.filter((write) => write.replayed).length} of them replays of a retried key), ${count("refused")} refused (INSUFFICIENT_CREDITS), ${count("unacknowledged")} never acknowledged, ${count("fatal")} fatal`,
    );
    const okBefore = attempts
      .filter((attempt) => attempt.outcome === "ok" && attempt.endedAt < killedAt)
      .map((attempt) => attempt.endedAt - attempt.sentAt)
      .sort((a, b) => a - b);
    const quantile = (q: number) => okBefore[Math.min(okBefore.length - 1, Math.floor(q * okBefore.length))] ?? 0;
    console.log(
      `before the kill: ${okBefore.length} writes acknowledged in ${seconds(killedAt - loadBegan)} s, latency median ${quantile(0.5)} ms, p95 ${quantile(0.95)} ms`,
    );
    console.log(`failed attempts by code: ${[...byCode].map(([code, n]) => `${code} ${n}`).join(", ") || "none"}`);
    console.log(
      `acknowledged but missing: ${violations.filter((violation) => violation.includes("is missing")).length}; stored but never acknowledged (client gave up): ${unacknowledgedButStored}`,
    );
    if (window !== null) {
      console.log(
        `unavailability window: ${seconds(window)} s (first failed write ${seconds(firstFailure!.endedAt - killedAt)} s after the kill, first acknowledged write sent after it ${seconds(firstSuccessAfter!.endedAt - killedAt)} s after the kill; last failure ${seconds(lastFailure!.endedAt - killedAt)} s after the kill)`,
      );
      console.log(
        `unavailability window counted from the sending of the first write that failed (at the kill at the earliest): ${seconds(firstSuccessAfter!.endedAt - firstFailedSent)} s`,
      );
    } else {
      console.log(
        `unavailability window: ${firstFailure ? "no acknowledged write after the first failure" : "no write failed after the kill"}`,
      );
    }
    console.log(
      `instances serving again: ${recoveredAt.map((at, instance) => `gateway ${instance + 1} ${at === null ? "NOT within 80 s" : `${seconds(at - killedAt)} s after the kill`}`).join(", ")}`,
    );
    console.log(`after the failover, ${burstSize} concurrent writes per instance: ${burstTimes.join(", ")}`);
    console.log(
      `read-after-write across instances: ${readAfterWrite.checked} checked, ${readAfterWrite.stale.length} stale, ${readAfterWrite.unreadable} reads failed (faults, not counted)`,
    );
    console.log(
      `total conserved: ${actual === expected ? "yes" : "NO"} (${actual}); balances below floor: ${below.rows.length}; verify: ${discrepancies.length === 0 ? "clean" : `${discrepancies.length} discrepancies`}`,
    );

    for (const stale of readAfterWrite.stale)
      violations.push(
        `stale read: expected balance ${stale.expected}, read ${stale.seen} ${seconds(stale.at - killedAt)} s after the kill`,
      );
    for (const line of serving) violations.push(`not serving after the failover: ${line}`);
    recoveredAt.forEach((at, instance) => {
      if (at === null) violations.push(`gateway ${instance + 1} acknowledged no write within 80 s of the kill`);
    });
    for (const write of load.writes.filter((write) => write.result === "fatal")) {
      violations.push(`write ${write.key} got an answer no client should: ${write.attempts.at(-1)?.code}`);
    }
    if (newLeader === null)
      violations.push(postgresOnly ? "no primary was seen after the kill" : "no new primary was seen");
  } finally {
    await client.end();
  }

  if (violations.length > 0) {
    console.log(`\nFAIL: ${violations.length} violation(s):`);
    for (const violation of violations.slice(0, 40)) console.log(`  - ${violation}`);
    for (const file of ["gateways/gateway1.log", "gateways/gateway2.log"]) {
      const full = path.join(topology.stateDir, file);
      if (!existsSync(full)) continue;
      const tail = readFileSync(full, "utf8")
        .trim()
        .split("\n")
        .slice(-5)
        .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
      console.log(`\n--- last lines of ${file} ---\n${tail.join("\n")}`);
    }
    return 1;
  }
  console.log("\nPASS: every check holds");
  return 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  console.error("FAIL:", error);
  exitCode = 1;
} finally {
  await stopTopology();
  clearTimeout(hardBound);
  log(`done in ${seconds(Date.now() - began)} s`);
}
process.exit(exitCode);
