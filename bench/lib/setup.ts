// Prepares one benchmark environment: a throw-away cluster, the database migrated by the gateway's own
// migrations (or a cached dump of their result), the generated ledger loaded, the peer's SQL functions, one PostgreSQL role per server, and both
// servers started. `teardown` undoes all of it, in reverse, whatever state it was left in.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { benchDirectory, cachedLedger, type LedgerMeta, loadLedger } from "../generate.ts";
import { type Cluster, findBinary, run, startCluster } from "./cluster.ts";
import { type GatewayOptions, repositoryRoot, type Server, startGateway, startPeer } from "./servers.ts";

export const databaseName = "bench";

export interface Environment {
  cluster: Cluster;
  meta: LedgerMeta;
  gateway: Server;
  peer: Server;
  /** Superuser URL of the benchmark database, for the runner's own queries. */
  adminUrl: string;
}

export interface Resources {
  cluster?: Cluster;
  gateway?: Server;
  peer?: Server;
}

export async function setUp(
  actions: number,
  seed: number,
  state: Resources,
  log: (line: string) => void,
  gatewayOptions: GatewayOptions = { profile: null, nodeArgs: [] },
): Promise<Environment> {
  const { directory, meta } = cachedLedger(actions, seed, log);
  const cluster = (state.cluster = await startCluster(log));
  await cluster.psql(
    "postgres",
    `CREATE DATABASE ${databaseName};\nCREATE ROLE gateway LOGIN;\nCREATE ROLE peer LOGIN;\n`,
  );
  const adminUrl = cluster.url(databaseName);

  let started = Date.now();
  await migrate(cluster, adminUrl, log);
  log(`postgres: migrated in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  started = Date.now();
  await loadLedger(directory, (script) => cluster.psql(databaseName, script, 1_800_000).then(() => undefined));
  log(
    `postgres: loaded the ledger (${meta.actions} actions, ${meta.entries} entries) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );

  await cluster.psql(
    databaseName,
    [
      "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;",
      `\\i ${path.join(benchDirectory, "peer-mutations.sql")}`,
      // Both servers get full rights on the same tables; separate roles attribute statements to each.
      "GRANT ALL ON SCHEMA public TO gateway, peer;",
      "GRANT ALL ON ALL TABLES IN SCHEMA public TO gateway, peer;",
      "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO gateway, peer;",
      "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO gateway, peer;",
      "",
    ].join("\n"),
  );

  state.gateway = await startGateway(cluster.url(databaseName, "gateway"), meta.apiKey, gatewayOptions);
  log(`gateway: ${state.gateway.url} (pid ${state.gateway.pid})`);
  state.peer = await startPeer(cluster.url(databaseName, "peer"));
  log(`peer: ${state.peer.url} (pid ${state.peer.pid})`);
  return { cluster, meta, gateway: state.gateway, peer: state.peer, adminUrl };
}

/**
 * Applies the gateway's migrations with its own `src/cli/migrate.ts` (the Prisma CLI: 10-20 s), then keeps a
 * dump of the migrated, still empty database in bench/.cache, keyed by the migrations' contents. Later runs
 * restore that dump instead (well under a second); the gateway then finds every migration applied.
 */
async function migrate(cluster: Cluster, adminUrl: string, log: (line: string) => void): Promise<void> {
  const folder = path.join(repositoryRoot, "prisma", "postgres", "migrations");
  const hash = createHash("sha256");
  for (const name of readdirSync(folder).sort()) {
    const file = path.join(folder, name, "migration.sql");
    if (existsSync(file)) hash.update(name).update(readFileSync(file));
  }
  const dumpFile = path.join(benchDirectory, ".cache", `migrated-schema-${hash.digest("hex").slice(0, 16)}.sql`);
  if (existsSync(dumpFile)) {
    await cluster.psql(databaseName, readFileSync(dumpFile, "utf8"));
    log(`postgres: restored the migrated schema from bench/.cache/${path.basename(dumpFile)}`);
    return;
  }
  const result = await run(process.execPath, ["--import", "tsx", "src/cli/migrate.ts"], {
    cwd: repositoryRoot,
    env: { ...process.env, DATABASE_URL: adminUrl },
    timeoutMs: 180_000,
  });
  if (result.code !== 0) throw new Error(`the gateway's migrations failed:\n${result.output}`);
  const dump = await run(findBinary("pg_dump"), ["--no-owner", "--no-privileges", adminUrl], { timeoutMs: 60_000 });
  if (dump.code === 0) {
    mkdirSync(path.dirname(dumpFile), { recursive: true });
    writeFileSync(dumpFile, dump.stdout);
  } else {
    log(`warning: pg_dump failed, the migrated schema is not cached: ${dump.output.slice(0, 300)}`);
  }
}

export async function tearDown(state: Resources, log: (line: string) => void): Promise<void> {
  for (const server of [state.peer, state.gateway]) {
    if (!server) continue;
    await server.stop().catch((error: unknown) => log(`warning: stopping ${server.name}: ${String(error)}`));
  }
  state.peer = state.gateway = undefined;
  if (state.cluster) {
    await state.cluster.stop().catch((error: unknown) => log(`warning: stopping PostgreSQL: ${String(error)}`));
    state.cluster = undefined;
  }
}
