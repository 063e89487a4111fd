// The gateway's settings, read once from environment variables at start.
//
// Each variable is declared once, in the `variables` table below: its name, description, default and parser,
// whose result type is the setting's type in `Config`. `loadConfig` reads the table in order and checks every
// variable before failing, so that a misconfigured deployment learns every mistake at once instead of one per
// restart. test/readme-config.test.ts holds the README's tables of variables to the same names and defaults.
import { type DatabaseEngine, databaseEngine, defaultDatabaseUrl } from "./database-url.ts";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** One environment variable, as the README documents it. */
export interface ConfigVariable {
  name: string;
  description: string;
  /** The value used when the variable is unset or empty, written as it would be in the environment. */
  default: string;
}

/** Turns the raw text of a variable into its value, or returns a message saying what is wrong with it. */
type Parser<T> = (raw: string) => { value: T } | { problem: string };

interface VariableSpec<T> extends ConfigVariable {
  parse: Parser<T>;
}

const logLevels: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

function integer(min: number, max: number = Number.MAX_SAFE_INTEGER): Parser<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  return (raw) => {
    // A strict pattern rather than Number(): Number() would also accept "1e3", "0x10" and " ".
    if (!/^-?[0-9]+$/.test(raw)) return { problem: `must be a whole number ${range}, got "${raw}"` };
    const value = Number(raw);
    if (value < min || value > max) return { problem: `must be ${range}, got ${raw}` };
    return { value };
  };
}

const text: Parser<string> = (raw) => ({ value: raw });

const boolean: Parser<boolean> = (raw) => {
  const text = raw.toLowerCase();
  if (["true", "1", "yes", "on"].includes(text)) return { value: true };
  if (["false", "0", "no", "off"].includes(text)) return { value: false };
  return { problem: `must be true or false, got "${raw}"` };
};

const parseDatabaseUrl: Parser<string> = (raw) => {
  try {
    if (databaseEngine(raw) === "postgres") {
      // The URL itself is not repeated in the message: it usually holds a password.
      new URL(raw);
    } else if (raw === "file:") {
      return { problem: 'names no file; expected e.g. "file:./data/ledger.db"' };
    }
    return { value: raw };
  } catch (error) {
    if (error instanceof TypeError) return { problem: "is not a valid PostgreSQL connection URL" };
    return { problem: (error as Error).message.replace(/^DATABASE_URL /, "") };
  }
};

const parseOrigins: Parser<readonly string[]> = (raw) => {
  const origins = raw
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.includes("none"))
    return origins.length === 1 ? { value: [] } : { problem: '"none" cannot be combined with origins' };
  for (const origin of origins) {
    if (origin === "*") continue;
    // An origin is a scheme, a host and an optional port, without a path: what browsers send in Origin.
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return { problem: `must be a comma-separated list of origins such as https://shop.example.com, got "${origin}"` };
    }
    if (parsed.origin !== origin) return { problem: `"${origin}" is not an origin (expected e.g. "${parsed.origin}")` };
  }
  return { value: Object.freeze(origins) };
};

const parseRedisUrl: Parser<string | null> = (raw) => {
  if (raw === "none") return { value: null };
  try {
    const url = new URL(raw);
    if (url.protocol !== "redis:" && url.protocol !== "rediss:")
      return { problem: 'must start with "redis://" or "rediss://"' };
  } catch {
    // The URL itself is not repeated: it may hold a password.
    return { problem: "is not a valid Redis URL" };
  }
  return { value: raw };
};

const parseDemoData: Parser<"auto" | boolean> = (raw) =>
  raw.toLowerCase() === "auto"
    ? { value: "auto" }
    : "value" in boolean(raw)
      ? boolean(raw)
      : { problem: `must be auto, true or false, got "${raw}"` };

const parseLogLevel: Parser<LogLevel> = (raw) =>
  (logLevels as readonly string[]).includes(raw)
    ? { value: raw as LogLevel }
    : { problem: `must be one of ${logLevels.join(", ")}, got "${raw}"` };

const parseFileOrNone: Parser<string | null> = (raw) => ({ value: raw === "none" ? null : raw });

const parseHttpUrl: Parser<string> = (raw) => {
  try {
    const url = new URL(raw);
    if (url.protocol === "http:" || url.protocol === "https:") return { value: raw };
  } catch {
    // Answered below, without repeating the URL: it may carry credentials.
  }
  return { problem: 'must be an http:// or https:// URL, e.g. "http://127.0.0.1:4318/v1/traces"' };
};

const variables = {
  port: {
    name: "PORT",
    description: "TCP port the HTTP server listens on (0 picks a free port).",
    default: "4000",
    parse: integer(0, 65535),
  },
  host: {
    name: "HOST",
    description:
      'Network interface the HTTP server binds to: "127.0.0.1" (this machine only) by default; "0.0.0.0" is every ' +
      "IPv4 interface, for deployments behind a load balancer or in a container.",
    default: "127.0.0.1",
    parse: text,
  },
  databaseUrl: {
    name: "DATABASE_URL",
    description:
      'Database to use: "file:<path>" for the embedded SQLite database (path relative to the project), ' +
      'or "postgres://..." / "postgresql://..." for PostgreSQL.',
    default: defaultDatabaseUrl,
    parse: parseDatabaseUrl,
  },
  databasePoolSize: {
    name: "DATABASE_POOL_SIZE",
    description: "Maximum number of PostgreSQL connections per gateway process (SQLite ignores it).",
    default: "10",
    parse: integer(1),
  },
  demoData: {
    name: "DEMO_DATA",
    description:
      'Whether the first start on an empty database creates the demo tenant ("Demo Coffee Roasters") with demo data ' +
      'and prints a development key: "auto" on the embedded SQLite database only, "true" on any database, "false" never.',
    default: "auto",
    parse: parseDemoData,
  },
  databaseConnectTimeoutMs: {
    name: "DATABASE_CONNECT_TIMEOUT_MS",
    description:
      "PostgreSQL: longest wait for a free pooled connection or a new one; then the attempt fails (a write is " +
      "retried, then answered LEDGER_BUSY; anything else gets 503 DATABASE_UNAVAILABLE).",
    default: "5000",
    parse: integer(1),
  },
  databaseQueryTimeoutMs: {
    name: "DATABASE_QUERY_TIMEOUT_MS",
    description:
      "PostgreSQL: longest wait for one statement's answer; then it fails and its connection is discarded. " +
      "Enforced by the gateway, so it also works through PgBouncer.",
    default: "15000",
    parse: integer(1),
  },
  databasePreparedStatements: {
    name: "DATABASE_PREPARED_STATEMENTS",
    description:
      "PostgreSQL: whether repeated statements are prepared once per connection (true/false). Turn it off " +
      "behind PgBouncer in transaction mode before 1.21 (or without max_prepared_statements).",
    default: "true",
    parse: boolean,
  },
  shutdownTimeoutMs: {
    name: "SHUTDOWN_TIMEOUT_MS",
    description:
      "On SIGINT or SIGTERM, how long in-flight requests may take to finish before their connections are closed.",
    default: "10000",
    parse: integer(0),
  },
  graphiql: {
    name: "GRAPHIQL",
    description: "Whether a browser opening /graphql gets the GraphiQL IDE (true/false).",
    default: "true",
    parse: boolean,
  },
  logLevel: {
    name: "LOG_LEVEL",
    description: `Least severe log messages written: ${logLevels.join(", ")}.`,
    default: "info",
    parse: parseLogLevel,
  },
  introspection: {
    name: "INTROSPECTION",
    description:
      "Whether clients may introspect the schema (true/false). GraphiQL's documentation and completion need it; " +
      'when false, no error message suggests schema members ("Did you mean ...?"), in validation or in variables.',
    default: "true",
    parse: boolean,
  },
  corsOrigins: {
    name: "CORS_ORIGINS",
    description:
      'Comma-separated origins whose browser pages may call the API (e.g. "https://admin.example.com"), "*" for ' +
      'any origin, or "none": no cross-origin access, the safe choice for a server-to-server API.',
    default: "none",
    parse: parseOrigins,
  },
  csrfPrevention: {
    name: "CSRF_PREVENTION",
    description:
      "Whether GraphQL requests that a cross-site HTML form could send (GET, or POST that is not JSON) must carry " +
      "an X-GraphQL-Yoga-CSRF or GraphQL-Require-Preflight header (true/false).",
    default: "true",
    parse: boolean,
  },
  rateLimitRequests: {
    name: "RATE_LIMIT_REQUESTS",
    description: "GraphQL requests one API key may send per window (RATE_LIMIT_WINDOW_SECONDS); 0 turns the limit off.",
    default: "600",
    parse: integer(0),
  },
  rateLimitAnonymousRequests: {
    name: "RATE_LIMIT_ANONYMOUS_REQUESTS",
    description:
      "GraphQL requests one client address may send per window without a valid API key; 0 turns the limit off.",
    default: "60",
    parse: integer(0),
  },
  rateLimitWindowSeconds: {
    name: "RATE_LIMIT_WINDOW_SECONDS",
    description: "Length of the rate-limit window in seconds.",
    default: "60",
    parse: integer(1, 86_400),
  },
  redisUrl: {
    name: "REDIS_URL",
    description:
      'Redis that every gateway instance shares for rate limits and live events ("redis://host:6379/0"); "none" keeps ' +
      "the limits in each process's memory, which is right for a single instance, and sends live events through " +
      "PostgreSQL (LISTEN/NOTIFY) or, on SQLite, within the process.",
    default: "none",
    parse: parseRedisUrl,
  },
  trustedProxies: {
    name: "TRUSTED_PROXIES",
    description:
      "How many reverse proxies or load balancers in front of the gateway append to X-Forwarded-For; the client " +
      "address is taken that many entries from its end. 0 uses the connection's own address.",
    default: "0",
    parse: integer(0, 10),
  },
  maintenanceMode: {
    name: "MAINTENANCE_MODE",
    description: "Whether every GraphQL request is answered 503 with Retry-After; /health and /metrics keep answering.",
    default: "false",
    parse: boolean,
  },
  maxInFlightRequests: {
    name: "MAX_IN_FLIGHT_REQUESTS",
    description:
      "Requests one process serves at once; beyond it new GraphQL requests get 503 with Retry-After at once " +
      "instead of queueing behind the others. 0 means no bound.",
    default: "100",
    parse: integer(0),
  },
  retryAfterSeconds: {
    name: "RETRY_AFTER_SECONDS",
    description: "The Retry-After sent with maintenance and overload answers (503).",
    default: "5",
    parse: integer(1, 86_400),
  },
  maxRequestBytes: {
    name: "MAX_REQUEST_BYTES",
    description: "Largest request body accepted; a larger one is refused with 413.",
    default: "102400",
    parse: integer(1024),
  },
  maxBatchSize: {
    name: "MAX_BATCH_SIZE",
    description: "Most operations in one batched request (a JSON array); 0 turns batching off.",
    default: "10",
    parse: integer(0, 100),
  },
  maxQueryDepth: {
    name: "MAX_QUERY_DEPTH",
    description: "Deepest selection nesting an operation may have.",
    default: "12",
    parse: integer(1),
  },
  maxAliases: {
    name: "MAX_ALIASES",
    description: "Most aliases in one operation.",
    default: "30",
    parse: integer(0),
  },
  maxTokens: {
    name: "MAX_TOKENS",
    description: "Most lexical tokens in one query document; it bounds the work of parsing.",
    default: "3000",
    parse: integer(100),
  },
  maxDirectives: {
    name: "MAX_DIRECTIVES",
    description: "Most directives in one operation.",
    default: "20",
    parse: integer(0),
  },
  maxQueryCost: {
    name: "MAX_QUERY_COST",
    description:
      "Highest cost an operation may have. Each object field costs 1, a connection multiplies what it selects by " +
      "its page size (first/last, default 20) and a mutation costs 10; every response reports the cost in " +
      "extensions.cost.",
    default: "5000",
    parse: integer(1),
  },
  readyTimeoutMs: {
    name: "READY_TIMEOUT_MS",
    description: "How long /ready waits for the database to answer before reporting 503.",
    default: "2000",
    parse: integer(1),
  },
  metrics: {
    name: "METRICS",
    description: "Whether Prometheus metrics are served at /metrics (true/false).",
    default: "true",
    parse: boolean,
  },
  persistedOperationsFile: {
    name: "PERSISTED_OPERATIONS_FILE",
    description:
      "JSON file of trusted documents, an object from document id (hash) to document text, as Relay's " +
      'persistedQueries.json or graphql-codegen\'s persisted-documents.json; "none" for no manifest.',
    default: "none",
    parse: parseFileOrNone,
  },
  arbitraryOperations: {
    name: "ARBITRARY_OPERATIONS",
    description:
      "Whether clients may send documents that are not in PERSISTED_OPERATIONS_FILE, as text or through APQ " +
      "(true/false); false accepts only the manifest's documents, by id.",
    default: "true",
    parse: boolean,
  },
  apqCacheSize: {
    name: "APQ_CACHE_SIZE",
    description:
      "Documents each process keeps for automatic persisted queries (APQ), least recently used dropped first; " +
      "0 turns APQ off. APQ is off whenever ARBITRARY_OPERATIONS is false.",
    default: "1000",
    parse: integer(0, 100_000),
  },
  tracing: {
    name: "TRACING",
    description:
      "Whether OpenTelemetry spans (request, parse, validate, execute, each SQL statement) are recorded and sent " +
      "to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (true/false).",
    default: "false",
    parse: boolean,
  },
  otlpTracesEndpoint: {
    name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    description: "The OTLP/HTTP (JSON) traces endpoint spans are sent to when TRACING is true.",
    default: "http://127.0.0.1:4318/v1/traces",
    parse: parseHttpUrl,
  },
  maxSubscriptions: {
    name: "MAX_SUBSCRIPTIONS",
    description:
      "Live subscriptions (Server-Sent Events streams) one process serves at once; beyond it new ones are refused " +
      "with TOO_MANY_SUBSCRIPTIONS (429). 0 means no bound.",
    default: "1000",
    parse: integer(0),
  },
  maxSubscriptionsPerKey: {
    name: "MAX_SUBSCRIPTIONS_PER_KEY",
    description:
      "Live subscriptions one API key may hold open at once on one process; beyond it TOO_MANY_SUBSCRIPTIONS (429). " +
      "0 means no bound.",
    default: "20",
    parse: integer(0),
  },
  federation: {
    name: "FEDERATION",
    description:
      "Whether /graphql also serves the schema as an Apollo Federation v2 subgraph (_service, _entities; Customer " +
      "is an entity keyed by id and by externalId), for a federation router in front (true/false).",
    default: "false",
    parse: boolean,
  },
} satisfies Record<string, VariableSpec<unknown>>;

type Variables = typeof variables;

/** What a variable's parser makes of its text. */
type ValueOf<Spec> = Spec extends { parse: Parser<infer T> } ? T : never;

/** The settings, one per variable of the table (described there), plus what is derived from them. */
export type Config = { readonly [Key in keyof Variables]: ValueOf<Variables[Key]> } & {
  /** Derived from `databaseUrl`, so that nothing else has to parse the URL again. */
  readonly databaseEngine: DatabaseEngine;
};

/** The environment variables the gateway reads, in the order the README lists them. */
export const configVariables: readonly Readonly<ConfigVariable>[] = Object.freeze(
  Object.values(variables).map(({ name, description, default: defaultValue }) =>
    Object.freeze({ name, description, default: defaultValue }),
  ),
);

/** Thrown by `loadConfig`; `problems` has one line per invalid variable, each starting with its name. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const problems: string[] = [];
  const settings: Record<string, unknown> = {};
  // In the order of the table, so that problems are listed in the order the README documents them.
  const specs: Record<string, VariableSpec<unknown>> = variables;
  for (const [key, spec] of Object.entries(specs)) settings[key] = read(spec, env, problems);
  // Refusing every document but having none registered would refuse every GraphQL request.
  if (settings.arbitraryOperations === false && settings.persistedOperationsFile === null)
    problems.push("ARBITRARY_OPERATIONS=false needs PERSISTED_OPERATIONS_FILE, the documents it accepts");
  if (problems.length > 0) throw new ConfigError(problems);
  // Every key of the table now holds what its parser returned, which is what Config says it holds.
  const values = settings as { [Key in keyof Variables]: ValueOf<Variables[Key]> };
  return Object.freeze({ ...values, databaseEngine: databaseEngine(values.databaseUrl) });
}

/** One variable's value; a problem with it is added to `problems` and the default's value stands in. */
function read<T>(spec: VariableSpec<T>, env: Record<string, string | undefined>, problems: string[]): T {
  // An empty value counts as unset, as `PORT=` in an env file usually means "no preference".
  const given = env[spec.name]?.trim();
  const result = spec.parse(given ? given : spec.default);
  if ("value" in result) return result.value;
  problems.push(`${spec.name} ${result.problem}`);
  // Parsing the default cannot fail; its value only fills the slot until loadConfig throws.
  return (spec.parse(spec.default) as { value: T }).value;
}
