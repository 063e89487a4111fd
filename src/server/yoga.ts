// The gateway as a fetch-style request handler: GraphQL at /graphql, the operational endpoints (/health,
// /ready, /metrics) and the guards that keep it serving under abuse (src/server/guards/).
//
// It knows nothing of sockets, so tests call `gateway.fetch(...)` in-process and src/server/http.ts
// serves it with node:http.
import type { GraphQLSchema } from "graphql";
import { createYoga, type Plugin } from "graphql-yoga";
import { type Config, loadConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import { useGlobalIdErrors } from "../schema/ids.ts";
import { buildSubgraphSchema } from "../schema/federation.ts";
import { schema as gatewaySchema } from "../schema/index.ts";
import { createLedger, type Ledger } from "../ledger/index.ts";
import { useContentNegotiation } from "./content-negotiation.ts";
import { createContext, type Context } from "./context.ts";
import { requestLanguage } from "./guards/refusal.ts";
import { useErrorPresentation } from "./error-presentation.ts";
import { type AdmissionGuard, createAdmissionControl } from "./guards/admission.ts";
import { createAuthentication } from "./guards/authentication.ts";
import { corsOption, useBrowserSecurity } from "./guards/browser-security.ts";
import { useScopes } from "../auth/scopes.ts";
import { usePersistedDocuments } from "./persisted-operations.ts";
import { useStrictRequestParsing } from "./request-parsing.ts";
import { useQueryLimits } from "./guards/query-limits.ts";
import { createRateLimitGuard, createRateLimiter, type RateLimiter } from "./guards/rate-limit.ts";
import { databaseFaultMasking } from "./observability/database-faults.ts";
import { type LiveTransport, setUpLive } from "./live/index.ts";
import { healthEndpoint, readyEndpoint, useHealthEndpoint, useReadyEndpoint } from "./observability/health.ts";
import { createJsonLogger, createRequestLog, type LogWriter } from "./observability/logging.ts";
import { metricsEndpoint, useMetrics } from "./observability/metrics.ts";
import type { Tracing } from "./observability/tracing.ts";
import { defined } from "../assert.ts";

/** The settings the gateway itself reads; any left out take their documented defaults. */
export type GatewayConfig = Pick<Config, "graphiql" | "logLevel"> &
  Partial<
    Pick<
      Config,
      | "introspection"
      | "corsOrigins"
      | "csrfPrevention"
      | "rateLimitRequests"
      | "rateLimitAnonymousRequests"
      | "rateLimitWindowSeconds"
      | "redisUrl"
      | "trustedProxies"
      | "maintenanceMode"
      | "maxInFlightRequests"
      | "retryAfterSeconds"
      | "maxRequestBytes"
      | "maxBatchSize"
      | "maxQueryDepth"
      | "maxAliases"
      | "maxTokens"
      | "maxDirectives"
      | "maxQueryCost"
      | "readyTimeoutMs"
      | "metrics"
      | "persistedOperationsFile"
      | "arbitraryOperations"
      | "apqCacheSize"
      | "databaseUrl"
      | "maxSubscriptions"
      | "maxSubscriptionsPerKey"
      | "federation"
    >
  >;

export interface CreateGatewayOptions {
  database: Database;
  /** The ledger the API reads and writes; by default one over `database` on the real clock. */
  ledger?: Ledger;
  config: GatewayConfig;
  /**
   * Replaces the gateway's schema. Tests use it to exercise the server itself (error masking, shutdown)
   * with resolvers the real API does not have.
   */
  schema?: GraphQLSchema;
  /**
   * Maintenance and load-shedding state, to switch maintenance at run time; by default one built from the
   * configuration.
   */
  admission?: AdmissionGuard;
  /** Where log lines go; standard output unless replaced (tests read them). */
  logWriter?: LogWriter;
  /** Prefix of the rate-limit counters in Redis, so that separate deployments (or tests) sharing one do not mix. */
  rateLimitKeyPrefix?: string;
  /** Replaces the rate limiter built from the configuration (tests share one between gateways). */
  rateLimiter?: RateLimiter;
  /** OpenTelemetry tracing (TRACING=true), started by the caller because the database's statements use it too. */
  tracing?: Tracing;
  /** Replaces the live events transport built from the configuration (Redis, PostgreSQL or memory). */
  liveTransport?: LiveTransport;
  /** How often an open subscription rechecks its API key (src/server/live/subscriptions.ts); 5 s by default. */
  liveKeyCheckMs?: number;
}

export const graphqlEndpoint = "/graphql";
export { healthEndpoint, metricsEndpoint, readyEndpoint };

export function createGateway(options: CreateGatewayOptions) {
  const { database, ledger: givenLedger = createLedger(database) } = options;
  // Settings the caller left out take the defaults documented in src/config/config.ts.
  const config: Config = { ...loadConfig({}), ...options.config };
  // The subgraph schema is the plain one plus federation's root fields, so plain clients see no difference.
  const schema = options.schema ?? (config.federation ? buildSubgraphSchema() : gatewaySchema);
  const parts = gatewayParts(options, config, givenLedger);
  const { authentication, rateLimit, requestLog } = parts;
  // Subscriptions: requests are served by a ledger that publishes every committed write's entries.
  const liveSetup = setUpLive({
    database,
    ledger: givenLedger,
    config,
    ...(options.liveTransport ? { transport: options.liveTransport } : {}),
    ...(options.liveKeyCheckMs ? { keyCheckMs: options.liveKeyCheckMs } : {}),
    warn: (message) => parts.logger.write("warn", message),
  });
  const { ledger, live } = liveSetup;
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint,
    context: async ({ request }) => {
      // The authentication plugin has refused every request without a valid key by now.
      const caller = authentication.callerOf(request) ?? null;
      const context = { ...(await createContext({ request, database, ledger, caller })), live };
      requestLog.noteTenant(request, context.caller?.tenant.id ?? null);
      await rateLimit.checkCaller(request, context.caller);
      return context;
    },
    // Yoga masks errors by default: a resolver's unexpected error reaches the client as "Unexpected
    // error." with the code INTERNAL_SERVER_ERROR and only the log has its message, so internals (SQL,
    // stack traces) never leak. Errors meant for clients are thrown as GraphQLError. Development mode,
    // which would add the original error to the response, is off whatever NODE_ENV says.
    maskedErrors: { isDev: false, maskError: databaseFaultMasking(config) },
    logging: parts.logger,
    // GraphiQL served from the package itself instead of a public CDN, so it works on networks that
    // cannot reach one and under a strict content security policy. The page is served without a key, so it
    // never contains one: its Headers tab holds a placeholder that the user replaces with their key.
    // The package is a 9 MB script: it is loaded on the first GraphiQL page, not at start, which saves
    // about 50 MB of memory in every instance that never serves one (GRAPHIQL=false in production).
    renderGraphiQL: async (options) => (await import("@graphql-yoga/render-graphiql")).renderGraphiQL(options),
    graphiql: config.graphiql
      ? {
          title: "Credit ledger gateway",
          defaultQuery: exampleQuery,
          headers: JSON.stringify({ Authorization: "Bearer <paste your API key here>" }, null, 2),
        }
      : false,
    // Yoga's landing page would describe the server to anyone who opens an unknown path.
    landingPage: false,
    cors: corsOption(config.corsOrigins),
    batching: config.maxBatchSize > 0 ? { limit: config.maxBatchSize } : false,
    // Yoga checks Content-Length and also counts the bytes of bodies sent without one (chunked).
    maxRequestBodySize: config.maxRequestBytes,
    // Yoga always installs its own health check, which answers an empty body. Ours answers JSON at
    // /health, so Yoga's is moved to a path that nothing documents.
    healthCheckEndpoint: "/_yoga-health",
    // The live transport closes (and open streams end) when the gateway is disposed.
    plugins: [...gatewayPlugins(parts, config, database, options.tracing), { onDispose: () => liveSetup.close() }],
  });
  // The live subscriptions' state goes with the gateway: shutdown ends the streams, tests watch them.
  return Object.assign(yoga, { live });
}

/** The gateway's guards and observers, built from the configuration unless the caller gave its own. */
function gatewayParts(options: CreateGatewayOptions, config: Config, ledger: Ledger) {
  const logger = createJsonLogger(config.logLevel, options.logWriter);
  const requestLog = createRequestLog(logger);
  const admission = options.admission ?? createAdmissionControl(config);
  const ownsRateLimiter = options.rateLimiter === undefined;
  const rateLimiter =
    options.rateLimiter ??
    createRateLimiter({
      requests: config.rateLimitRequests,
      anonymousRequests: config.rateLimitAnonymousRequests,
      windowSeconds: config.rateLimitWindowSeconds,
      redisUrl: config.redisUrl,
      trustedProxies: config.trustedProxies,
      warn: (message) => logger.write("warn", message),
      ...(options.rateLimitKeyPrefix ? { keyPrefix: options.rateLimitKeyPrefix } : {}),
    });
  const rateLimit = createRateLimitGuard(rateLimiter, { graphqlEndpoint, trustedProxies: config.trustedProxies });
  const authentication = createAuthentication({
    database: options.database,
    clock: () => ledger.clock(),
    graphqlEndpoint,
    countInvalidKey: (request) => rateLimit.checkCaller(request, null),
  });
  const metrics = config.metrics
    ? useMetrics({
        routes: [graphqlEndpoint, healthEndpoint, readyEndpoint, metricsEndpoint],
        inFlight: () => admission.inFlight,
      })
    : null;
  return { logger, requestLog, admission, rateLimiter, ownsRateLimiter, rateLimit, authentication, metrics };
}

/**
 * The plugins, in order. Order matters for the request hooks: the log and the metrics see every request,
 * including refused ones; the operational endpoints answer before any guard can refuse them; admission
 * control sheds load before the rate limiter spends a Redis round trip; a request without a valid key is
 * refused before anything is parsed (malformed parameters are 400 whatever the key); the query limits run while GraphQL parses and validates.
 */
function gatewayPlugins(
  parts: ReturnType<typeof gatewayParts>,
  config: Config,
  database: Database,
  tracing: Tracing | undefined,
): Plugin[] {
  const { requestLog, metrics, logger, admission, rateLimit, authentication, rateLimiter } = parts;
  return [
    requestLog.plugin,
    ...(tracing ? tracing.plugins({ graphqlEndpoint, requestId: requestLog.requestId }) : []),
    ...(metrics ? [defined(metrics.plugins[0], "the request metrics plugin")] : []),
    useHealthEndpoint(),
    useReadyEndpoint({
      probe: () => database.read.$queryRawUnsafe("SELECT 1"),
      timeoutMs: config.readyTimeoutMs,
      logger,
    }),
    admission.plugin(new Set([healthEndpoint, readyEndpoint, metricsEndpoint])),
    rateLimit.plugin,
    authentication.plugin,
    useStrictRequestParsing(),
    ...usePersistedDocuments(config),
    ...useBrowserSecurity(config),
    ...useQueryLimits({ ...config, blockFieldSuggestions: !config.introspection }),
    useScopes(),
    useGlobalIdErrors(),
    ...(metrics ? metrics.plugins.slice(1) : []),
    useErrorPresentation({
      introspection: config.introspection,
      languageOf: (request) => requestLanguage(request, authentication.callerOf(request)),
    }),
    useContentNegotiation(),
    {
      // The Redis connection closes when the gateway is disposed, which graceful shutdown does only after
      // the last in-flight request has finished. A rate limiter the caller gave is the caller's to close.
      async onDispose() {
        if (parts.ownsRateLimiter) await rateLimiter.close();
      },
    },
  ];
}

export type Gateway = ReturnType<typeof createGateway>;

/** What GraphiQL opens with: a query that works against the demo data. */
export const exampleQuery = `# A demo customer: balances, accounts, latest history.
# Paste your API key into the Headers tab first (npm start
# prints the demo key at the first start; npm run keys makes
# more), then press the run button. The demo tenant answers
# in Czech unless asked otherwise: add "Accept-Language": "en"
# to the headers for English (or "cs" for Czech elsewhere).
# The Docs panel lists every filter and mutation.
query CustomerHistory {
  customer(externalId: "CUST-1001") {
    name
    balances { currency balance available }
    accounts { name currency balance available }
    history(first: 10) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        direction
        balanceAfter
        account { name }
        node { type typeName amount note effectiveAt store { name } partner { name } }
      }
    }
  }
}
`;
