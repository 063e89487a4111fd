// The gateway's settings, read once from environment variables at start.
//
// Every variable is described in `configVariables` below, with its default, so that the README documents
// the same list the code reads. `loadConfig` checks all of them before failing, so that a misconfigured
// deployment learns every mistake at once instead of one per restart.
import { type DatabaseEngine, databaseEngine, defaultDatabaseUrl } from "./database-url.ts";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface Config {
  /** TCP port the HTTP server listens on; 0 lets the operating system pick a free one. */
  port: number;
  /** Network interface the HTTP server binds to. */
  host: string;
  databaseUrl: string;
  /** Derived from `databaseUrl`, so that nothing else has to parse the URL again. */
  databaseEngine: DatabaseEngine;
  databasePoolSize: number;
  shutdownTimeoutMs: number;
  graphiql: boolean;
  logLevel: LogLevel;
}

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

const parseLogLevel: Parser<LogLevel> = (raw) =>
  (logLevels as readonly string[]).includes(raw)
    ? { value: raw as LogLevel }
    : { problem: `must be one of ${logLevels.join(", ")}, got "${raw}"` };

const variables = {
  port: {
    name: "PORT",
    description: "TCP port the HTTP server listens on (0 picks a free port).",
    default: "4000",
    parse: integer(0, 65535),
  },
  host: {
    name: "HOST",
    description: 'Network interface the HTTP server binds to ("0.0.0.0" is every IPv4 interface).',
    default: "0.0.0.0",
    parse: (raw): { value: string } => ({ value: raw }),
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
} satisfies { [K in Exclude<keyof Config, "databaseEngine">]: VariableSpec<Config[K]> };

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
  const read = <T>(spec: VariableSpec<T>): T => {
    // An empty value counts as unset, as `PORT=` in an env file usually means "no preference".
    const given = env[spec.name]?.trim();
    const raw = given ? given : spec.default;
    const result = spec.parse(raw);
    if ("value" in result) return result.value;
    problems.push(`${spec.name} ${result.problem}`);
    // Parsing the default cannot fail; its value only fills the slot until the error below is thrown.
    return (spec.parse(spec.default) as { value: T }).value;
  };

  // Read in the order of the table, so that problems are listed in the order the README documents them.
  const port = read(variables.port);
  const host = read(variables.host);
  const databaseUrl = read(variables.databaseUrl);
  const databasePoolSize = read(variables.databasePoolSize);
  const shutdownTimeoutMs = read(variables.shutdownTimeoutMs);
  const graphiql = read(variables.graphiql);
  const logLevel = read(variables.logLevel);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host,
    databaseUrl,
    databaseEngine: databaseEngine(databaseUrl),
    databasePoolSize,
    shutdownTimeoutMs,
    graphiql,
    logLevel,
  });
}
