// Starts the gateway (`npm start`): reads the configuration, migrates and opens the database, makes sure
// the demo data exists, and serves GraphQL until SIGINT or SIGTERM.
import { loadConfig } from "./config/config.ts";
import { type Database, openDatabase } from "./db/client.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { createLedger } from "./ledger/index.ts";
import { ensureDemoData } from "./seed/demo.ts";
import { startExpiryJob } from "./server/expiry-job.ts";
import { startHttpServer } from "./server/http.ts";
import { createGateway, graphqlEndpoint } from "./server/yoga.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  await migrateDatabase(config.databaseUrl);
  const database = await openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize });
  let port: number;
  try {
    const demo = await ensureDemoData(database);
    if (demo.created) console.log(`Created the demo tenant "${demo.tenantName}".`);
    const expiryJob = startExpiryJob(createLedger(database), 60_000, (error) => console.error("Expiry job failed:", error));
    const gateway = createGateway({ database, config });
    ({ port } = await startHttpServer(gateway, config, {
      onShutdown: async () => {
        await expiryJob.stop();
        await database.close();
      },
    }));
  } catch (error) {
    await closeQuietly(database);
    throw error;
  }
  // A wildcard address is not something to type into a browser; the machine's own name for itself is.
  const host = ["0.0.0.0", "::", ""].includes(config.host) ? "localhost" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}${graphqlEndpoint}`;
  console.log(
    config.graphiql ? `Gateway ready: open GraphiQL at ${url}` : `Gateway ready: GraphQL endpoint at ${url}`,
  );
}

async function closeQuietly(database: Database): Promise<void> {
  try {
    await database.close();
  } catch {
    // The start-up error is the one worth reporting.
  }
}

function describeStartError(error: unknown): string {
  // Listening errors carry the port; their own messages ("listen EADDRINUSE ...") say less than these.
  const { code, port } = (error ?? {}) as { code?: string; port?: number };
  if (code === "EADDRINUSE") return `port ${port} is already in use; stop the other server or set PORT to another port.`;
  if (code === "EACCES") return `not allowed to listen on port ${port}; set PORT to another port.`;
  return error instanceof Error ? error.message : String(error);
}

main().catch((error: unknown) => {
  console.error(`The gateway could not start: ${describeStartError(error)}`);
  process.exit(1);
});
