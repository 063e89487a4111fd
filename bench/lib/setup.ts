// Prepares one benchmark environment: a throw-away cluster, the database migrated by the gateway's own
// migrations, the generated ledger loaded, the peer's SQL functions, one PostgreSQL role per server, and both
// servers started. `teardown` undoes all of it, in reverse, whatever state it was left in.
import path from "node:path";
import { benchDirectory, cachedLedger, type LedgerMeta, loadLedger } from "../generate.ts";
import { type Cluster, run, startCluster } from "./cluster.ts";
import { repositoryRoot, type Server, startGateway, startPeer } from "./servers.ts";

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

export async function setUp(actions: number, seed: number, state: Resources, log: (line: string) => void): Promise<Environment> {
  const { directory, meta } = cachedLedger(actions, seed, log);
  const cluster = (state.cluster = await startCluster(log));
  await cluster.psql("postgres", `CREATE DATABASE ${databaseName};\nCREATE ROLE gateway LOGIN;\nCREATE ROLE peer LOGIN;\n`);
  const adminUrl = cluster.url(databaseName);

  let started = Date.now();
  const migrate = await run(process.execPath, ["--import", "tsx", "src/cli/migrate.ts"], {
    cwd: repositoryRoot,
    env: { ...process.env, DATABASE_URL: adminUrl },
    timeoutMs: 180_000,
  });
  if (migrate.code !== 0) throw new Error(`the gateway's migrations failed:\n${migrate.output}`);
  log(`postgres: migrated with the gateway's migrations in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  started = Date.now();
  await loadLedger(directory, (script) => cluster.psql(databaseName, script, 1_800_000).then(() => undefined));
  log(`postgres: loaded the ledger (${meta.actions} actions, ${meta.entries} entries) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

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

  state.gateway = await startGateway(cluster.url(databaseName, "gateway"), meta.apiKey);
  log(`gateway: ${state.gateway.url} (pid ${state.gateway.pid})`);
  state.peer = await startPeer(cluster.url(databaseName, "peer"));
  log(`peer: ${state.peer.url} (pid ${state.peer.pid})`);
  return { cluster, meta, gateway: state.gateway, peer: state.peer, adminUrl };
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
