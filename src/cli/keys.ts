// The operator's tool for tenants and API keys (`npm run keys -- <command>`): create tenants, create keys
// (the secret is printed once and never stored), list keys without their secrets, revoke them.
//
// It works on the database DATABASE_URL names, exactly like the server, and applies the migrations first,
// so it can be the very first thing run against a new database. Failures go to stderr with a non-zero exit
// code: 2 for a mistake in the command line, 1 for anything else.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { ApiKey, Tenant } from "../generated/postgres/client.ts";
import { createApiKey, isUsable, listApiKeys, revokeApiKey, type ApiKeyScope } from "../auth/api-keys.ts";
import { apiKeyScopes, isApiKeyScope } from "../auth/scopes.ts";
import { databaseEngine, defaultDatabaseUrl } from "../config/database-url.ts";
import { type Database, openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { createLedger } from "../ledger/index.ts";
import { checkName } from "../ledger/validation.ts";
import { formatDateTime, parseDateTime, resolveDateTimeInput } from "../time/date-time.ts";

export const usage = `Manage tenants and their API keys.

Usage: npm run keys -- <command> [options]

Commands:
  tenants                               List the tenants.
  create-tenant --name <name> [--time-zone <IANA zone>] [--locale <ISO 639-1 code>]
                                        Create a tenant (default time zone UTC, default language en).
  create --tenant <tenant id> --name <name> --scopes <read,write> [--expires <date-time>]
                                        Create an API key and print its secret, once.
  list --tenant <tenant id>             List a tenant's keys (never their secrets).
  revoke <key id or prefix>             Revoke a key; it stops working at once.
  help                                  Show this text.

Options:
  --expires <date-time>   When the key stops working: "2027-01-01", "2027-01-01 12:00:00" (both in the
                          tenant's time zone) or ISO 8601 with an offset.
  --json                  Print the result as JSON, for scripts.

The database is the one DATABASE_URL names (default ${defaultDatabaseUrl}), as for the server; its
migrations are applied first.
`;

/** A mistake in the command line: the usage text helps. */
export class UsageError extends Error {}

/** A command that could not be done as asked (an unknown tenant, an invalid value). */
export class CommandError extends Error {}

/** Where a command writes; a test or another tool can collect the output instead of printing it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

interface ParsedCommand {
  command: string;
  positionals: string[];
  options: {
    name?: string;
    tenant?: string;
    scopes?: string;
    expires?: string;
    "time-zone"?: string;
    locale?: string;
    json?: boolean;
    help?: boolean;
  };
}

/** Which options each command accepts; any other is refused rather than silently ignored. */
const commandOptions: Record<string, { options: string[]; positionals: number }> = {
  tenants: { options: ["json"], positionals: 0 },
  "create-tenant": { options: ["name", "time-zone", "locale", "json"], positionals: 0 },
  create: { options: ["tenant", "name", "scopes", "expires", "json"], positionals: 0 },
  list: { options: ["tenant", "json"], positionals: 0 },
  revoke: { options: ["json"], positionals: 1 },
  help: { options: [], positionals: 0 },
};

export function parseCommandLine(args: string[]): ParsedCommand {
  // biome-ignore lint/suspicious/noImplicitAnyLet: TypeScript infers parseArgs' result type from the assignment below.
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: "string" },
        tenant: { type: "string" },
        scopes: { type: "string" },
        expires: { type: "string" },
        "time-zone": { type: "string" },
        locale: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command = "help", ...positionals] = parsed.positionals;
  const options = parsed.values as ParsedCommand["options"];
  if (options.help) return { command: "help", positionals: [], options: {} };
  const spec = commandOptions[command];
  if (!spec) throw new UsageError(`Unknown command "${command}".`);
  const unexpected = Object.keys(options).filter((option) => !spec.options.includes(option));
  if (unexpected.length > 0) {
    throw new UsageError(`"${command}" does not take ${unexpected.map((option) => `--${option}`).join(", ")}.`);
  }
  if (positionals.length !== spec.positionals) {
    throw new UsageError(
      spec.positionals === 0
        ? `"${command}" takes no arguments besides its options; got "${positionals.join(" ")}".`
        : `"${command}" takes exactly ${spec.positionals} argument (the key's id or prefix).`,
    );
  }
  return { command, positionals, options };
}

function required(value: string | undefined, option: string, command: string): string {
  if (value === undefined || value.trim() === "") throw new UsageError(`"${command}" needs --${option}.`);
  return value.trim();
}

/** "read,write" (spaces and repeats allowed) as a sorted list of known scopes. */
export function parseScopes(text: string): ApiKeyScope[] {
  const names = text.split(/[,\s]+/).filter((name) => name !== "");
  const unknown = names.filter((name) => !isApiKeyScope(name));
  if (unknown.length > 0) {
    throw new CommandError(`Unknown scope "${unknown[0]}"; the scopes are ${apiKeyScopes.join(" and ")}.`);
  }
  if (names.length === 0) throw new CommandError(`Give at least one scope: ${apiKeyScopes.join(", ")}.`);
  return apiKeyScopes.filter((scope) => names.includes(scope));
}

/** The expiry as an instant: a value without an offset is read in the tenant's time zone, like the API's. */
export function parseExpiry(text: string, tenant: Tenant, now: Date): Date {
  let instant: Date;
  try {
    instant = resolveDateTimeInput(parseDateTime(text.trim()), tenant.timeZone);
  } catch (error) {
    throw new CommandError(`--expires: ${(error as Error).message}`);
  }
  if (instant <= now) {
    throw new CommandError(`--expires must be in the future; ${shortTime(instant, tenant)} has passed.`);
  }
  return instant;
}

/** A moment as listings show it: to the second, in the tenant's time zone with its offset. */
function shortTime(date: Date | null, tenant: Tenant, none = "-"): string {
  return date === null ? none : formatDateTime(date, tenant.timeZone).replace(/\.\d{3}(?=[+-])/, "");
}

type KeyRow = Omit<ApiKey, "secretHash">;

function keyStatus(key: KeyRow, now: Date): "active" | "expired" | "revoked" {
  if (key.revokedAt !== null) return "revoked";
  return isUsable(key, now) ? "active" : "expired";
}

/** A key as JSON output shows it: everything but the hash, with ISO 8601 times. */
function keyJson(key: KeyRow, now: Date) {
  return {
    id: key.id,
    tenantId: key.tenantId,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes.split(" ").filter((scope) => scope !== ""),
    status: keyStatus(key, now),
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

function tenantJson(tenant: Tenant) {
  return {
    id: tenant.id,
    name: tenant.name,
    timeZone: tenant.timeZone,
    defaultLocale: tenant.defaultLocale,
    createdAt: tenant.createdAt.toISOString(),
  };
}

/** Rows as left-aligned columns under a header, two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max([...title].length, ...rows.map((row) => [...(row[column] ?? "")].length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

async function findTenant(database: Database, id: string): Promise<Tenant> {
  const tenant = await database.read.tenant.findUnique({ where: { id } });
  if (!tenant) throw new CommandError(`No tenant has the id "${id}". "npm run keys -- tenants" lists them.`);
  return tenant;
}

/** What a command works with: the open database, its options, where it writes, and the clock. */
interface CommandRun {
  database: Database;
  parsed: ParsedCommand;
  output: Output;
  now: () => Date;
  /** Writes a value as JSON, for --json. */
  print(value: unknown): void;
}

/** Runs one parsed command against an open database. */
export async function runCommand(
  database: Database,
  parsed: ParsedCommand,
  output: Output,
  now: () => Date = () => new Date(),
): Promise<void> {
  // Own keys only: a command line naming "constructor" must not reach Object.prototype.
  const command = Object.hasOwn(commands, parsed.command) ? commands[parsed.command] : undefined;
  if (!command) return output.out(usage);
  await command({ database, parsed, output, now, print: (value) => output.out(JSON.stringify(value, null, 2)) });
}

const commands: Record<string, (run: CommandRun) => Promise<void>> = {
  tenants: listTenants,
  "create-tenant": createTenant,
  create: createKey,
  list: listKeys,
  revoke: revokeKey,
};

async function listTenants({ database, parsed, output, print }: CommandRun): Promise<void> {
  const tenants = await database.read.tenant.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  if (parsed.options.json) return print(tenants.map(tenantJson));
  if (tenants.length === 0)
    return output.out('No tenants yet. Create one with "npm run keys -- create-tenant --name <name>".');
  output.out(
    table(
      ["ID", "NAME", "TIME ZONE", "LANGUAGE", "CREATED"],
      tenants.map((tenant) => [
        tenant.id,
        tenant.name,
        tenant.timeZone,
        tenant.defaultLocale,
        shortTime(tenant.createdAt, tenant),
      ]),
    ),
  );
}

async function createTenant({ database, parsed, output, now, print }: CommandRun): Promise<void> {
  const { command, options } = parsed;
  const ledger = createLedger(database, { clock: now });
  const result = await ledger.createTenant({
    name: required(options.name, "name", command),
    timeZone: options["time-zone"]?.trim() || null,
    defaultLocale: options.locale?.trim() || null,
  });
  if (!result.ok) throw new CommandError(result.error.message);
  const { tenant } = result;
  if (options.json) return print(tenantJson(tenant));
  output.out(`Created tenant "${tenant.name}" (time zone ${tenant.timeZone}, language ${tenant.defaultLocale}).`);
  output.out(`Tenant id: ${tenant.id}`);
  output.out(
    `Create its first key with: npm run keys -- create --tenant ${tenant.id} --name <name> --scopes read,write`,
  );
}

async function createKey({ database, parsed, output, now, print }: CommandRun): Promise<void> {
  const { command, options } = parsed;
  const tenant = await findTenant(database, required(options.tenant, "tenant", command));
  const name = checkName(required(options.name, "name", command));
  if (typeof name !== "string") throw new CommandError(name === null ? "A name is required." : name.error.message);
  const scopes = parseScopes(required(options.scopes, "scopes", command));
  const expiresAt = options.expires === undefined ? null : parseExpiry(options.expires, tenant, now());
  const { apiKey, secret } = await createApiKey(database, { tenantId: tenant.id, name, scopes, expiresAt });
  if (options.json) return print({ ...keyJson(apiKey, now()), secret });
  output.out(
    `Created API key "${apiKey.name}" for tenant "${tenant.name}": id ${apiKey.id}, prefix ${apiKey.prefix}, ` +
      `scopes ${scopes.join(", ")}, ${expiresAt ? `expires ${shortTime(expiresAt, tenant)}` : "does not expire"}.`,
  );
  output.out("");
  output.out("The key is shown only this once; only its hash is stored. Keep it somewhere safe now:");
  output.out("");
  output.out(`  ${secret}`);
  output.out("");
  output.out('Send it as "Authorization: Bearer <key>" or "X-Api-Key: <key>".');
}

async function listKeys({ database, parsed, output, now, print }: CommandRun): Promise<void> {
  const tenant = await findTenant(database, required(parsed.options.tenant, "tenant", parsed.command));
  const keys = await listApiKeys(database, tenant.id);
  const at = now();
  if (parsed.options.json) return print(keys.map((key) => keyJson(key, at)));
  if (keys.length === 0) return output.out(`Tenant "${tenant.name}" has no API keys.`);
  output.out(`API keys of tenant "${tenant.name}" (times in ${tenant.timeZone}):`);
  output.out(
    table(
      ["ID", "PREFIX", "NAME", "SCOPES", "STATUS", "CREATED", "LAST USED", "EXPIRES", "REVOKED"],
      keys.map((key) => [
        key.id,
        key.prefix,
        key.name,
        key.scopes.split(" ").join(","),
        keyStatus(key, at),
        shortTime(key.createdAt, tenant),
        shortTime(key.lastUsedAt, tenant, "never"),
        shortTime(key.expiresAt, tenant, "never"),
        shortTime(key.revokedAt, tenant),
      ]),
    ),
  );
}

async function revokeKey({ database, parsed, output, now, print }: CommandRun): Promise<void> {
  const reference = parsed.positionals[0] ?? "";
  const result = await revokeApiKey(database, reference, now());
  if (result.outcome === "not-found") {
    throw new CommandError(
      `No API key has the id or prefix "${reference}". "npm run keys -- list --tenant <id>" lists a tenant's keys.`,
    );
  }
  if (result.outcome === "ambiguous") {
    throw new CommandError(
      `${result.matches.length} keys have the prefix "${reference}"; revoke one by its id: ${result.matches.map((key) => key.id).join(", ")}.`,
    );
  }
  const { apiKey } = result;
  if (parsed.options.json) {
    return print({ ...keyJson(apiKey, now()), alreadyRevoked: result.outcome === "already-revoked" });
  }
  const tenant = await findTenant(database, apiKey.tenantId);
  output.out(
    result.outcome === "revoked"
      ? `Revoked API key "${apiKey.name}" (${apiKey.prefix}) of tenant "${tenant.name}"; it no longer authenticates.`
      : `API key "${apiKey.name}" (${apiKey.prefix}) of tenant "${tenant.name}" was already revoked at ${shortTime(apiKey.revokedAt, tenant)}; nothing changed.`,
  );
}

/** The whole tool: parses, migrates, opens the database, runs the command; returns the exit code. */
export async function main(args: string[], env: Record<string, string | undefined>, output: Output): Promise<number> {
  let parsed: ParsedCommand;
  try {
    parsed = parseCommandLine(args);
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (parsed.command === "help") {
    output.out(usage);
    return 0;
  }

  // An empty DATABASE_URL counts as unset, as it does for the server.
  const url = env.DATABASE_URL?.trim() || defaultDatabaseUrl;
  let database: Database | undefined;
  try {
    databaseEngine(url);
    await migrateDatabase(url);
    database = await openDatabase(url, { poolSize: 2 });
    await runCommand(database, parsed, output);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`${error.message}\n\n${usage}`);
      return 2;
    }
    output.err(`Error: ${describeError(error)}`);
    return 1;
  } finally {
    await database?.close().catch(() => undefined);
  }
}

function describeError(error: unknown): string {
  if (error instanceof CommandError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  // Database drivers' messages can run to many lines of internals; the first lines say what went wrong.
  return message
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(0, 6)
    .join("\n");
}

// Run when started as a program (npm run keys), not when a test imports the functions above.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await main(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  });
  process.exitCode = code;
}
