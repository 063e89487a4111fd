// Starts the gateway (`npm start`): reads the configuration, migrates and opens the database, makes sure
// the demo data exists (on the embedded database, or with DEMO_DATA=true), and serves GraphQL until SIGINT
// or SIGTERM.
import { loadConfig } from "./config/config.ts";
import { type Database, openDatabase } from "./db/client.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { createLedger } from "./ledger/index.ts";
import { ensureDemoData } from "./seed/demo.ts";
import { startExpiryJob } from "./server/expiry-job.ts";
import { createRateLimiter } from "./server/guards/rate-limit.ts";
import { startHttpServer } from "./server/http.ts";
import { createJsonLogger } from "./server/observability/logging.ts";
import { createGateway, graphqlEndpoint } from "./server/yoga.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  await migrateDatabase(config.databaseUrl);
  const database = await openDatabase(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
    preparedStatements: config.databasePreparedStatements,
  });
  let port: number;
  try {
    // Demo data and a printed write key belong on a developer's embedded database, not on a production
    // PostgreSQL that happens to be empty at its first start (DEMO_DATA=true asks for them anywhere).
    const wantsDemo = config.demoData === "auto" ? config.databaseEngine === "sqlite" : config.demoData;
    const demo = wantsDemo ? await ensureDemoData(database) : { created: false as const };
    if (!wantsDemo && (await database.read.tenant.count()) === 0) {
      console.log(
        "The database has no tenant yet. Create one and its first API key with\n" +
          '  npm run keys -- create-tenant --name "Acme" --time-zone Europe/Prague --locale en\n' +
          "  npm run keys -- create --tenant <tenant id> --name admin --scopes read,write",
      );
    }
    if (demo.created) {
      // The key is shown here, to whoever started the server, and nowhere else: not in a file, not in the
      // GraphiQL page (which anyone who can reach the port may load).
      console.log(`Created the demo tenant "${demo.tenantName}".`);
      console.log(`Development API key (shown once; send it as "Authorization: Bearer <key>"):\n  ${demo.apiKey}`);
      console.log("Paste it into GraphiQL's Headers tab. Lost it? Create another with `npm run keys -- create`.");
    }
    const ledger = createLedger(database);
    const expiryJob = startExpiryJob(ledger, 60_000, (error) => console.error("Expiry job failed:", error));
    // The rate limiter is built here rather than inside the gateway so that start-up can wait for Redis:
    // until it is connected each instance counts in its own memory, which would let a freshly started
    // fleet allow more than the shared limit.
    const logger = createJsonLogger(config.logLevel);
    const rateLimiter = createRateLimiter({
      requests: config.rateLimitRequests,
      anonymousRequests: config.rateLimitAnonymousRequests,
      windowSeconds: config.rateLimitWindowSeconds,
      redisUrl: config.redisUrl,
      trustedProxies: config.trustedProxies,
      warn: (message) => logger.write("warn", message),
    });
    if (!(await rateLimiter.ready(5_000))) {
      logger.write(
        "warn",
        "Redis did not answer within 5 s; starting with rate limits counted in memory until it does",
      );
    }
    const gateway = createGateway({ database, ledger, config, rateLimiter });
    ({ port } = await startHttpServer(gateway, config, {
      onShutdown: async () => {
        // The HTTP server has finished its last request by now, so nothing counts any more.
        await rateLimiter.close();
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
  console.log(config.graphiql ? `Gateway ready: open GraphiQL at ${url}` : `Gateway ready: GraphQL endpoint at ${url}`);
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
  if (code === "EADDRINUSE")
    return `port ${port} is already in use; stop the other server or set PORT to another port.`;
  if (code === "EACCES") return `not allowed to listen on port ${port}; set PORT to another port.`;
  return error instanceof Error ? error.message : String(error);
}

main().catch((error: unknown) => {
  console.error(`The gateway could not start: ${describeStartError(error)}`);
  process.exit(1);
});
