// API keys: how a request names its tenant. A key is shown once, at creation; only its SHA-256 is stored, so
// a database leak does not leak usable keys. Keys arrive as `Authorization: Bearer <key>` (Thought
// Industries) or `X-Api-Key: <key>` (Inveterate style).
//
// A key's life cycle: created with scopes and an optional expiry, used (its last use is recorded to the
// minute), and finally revoked or expired, after which it authenticates nothing. Keys are never deleted, so
// the actions they wrote keep naming them.
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "../db/client.ts";
import { sql } from "../db/sql.ts";
import type { ApiKey, Tenant } from "../generated/postgres/client.ts";

export type ApiKeyScope = "read" | "write";

export interface Caller {
  tenant: Tenant;
  apiKey: ApiKey;
  scopes: ReadonlySet<ApiKeyScope>;
}

const keyPattern = /^clk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Creates a key and returns its secret, which is not stored and cannot be shown again. */
export async function createApiKey(
  database: Database,
  input: { tenantId: string; name: string; scopes: ApiKeyScope[]; expiresAt?: Date | null },
): Promise<{ apiKey: ApiKey; secret: string }> {
  const prefix = `clk_${randomBytes(6)
    .toString("base64url")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "0")
    .slice(0, 8)}`;
  const secret = `${prefix}_${randomBytes(32).toString("base64url")}`;
  const apiKey = await database.write.apiKey.create({
    data: {
      tenantId: input.tenantId,
      name: input.name,
      prefix,
      secretHash: hashSecret(secret),
      scopes: [...new Set(input.scopes)].sort().join(" "),
      expiresAt: input.expiresAt ?? null,
    },
  });
  return { apiKey, secret };
}

/** The key a request carries, from `Authorization: Bearer` or `X-Api-Key`; null when it carries none. */
export function presentedKey(headers: Headers): string | null {
  const authorization = headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? authorization.trim();
  }
  return headers.get("x-api-key")?.trim() || null;
}

/**
 * How long a process keeps a key it has looked up, in milliseconds. Every request needs its key's tenant and
 * scopes; reading them from memory spares a statement per request. The price is bounded: a key revoked
 * through another process (the keys CLI, another gateway instance) keeps working on this one for at most
 * this long. Expiry is exact, since the expiry time itself is cached; a revocation by this process takes
 * effect at once; a key never seen before is always looked up.
 */
export const apiKeyCacheMs = 5_000;

interface CachedKey {
  apiKey: ApiKey;
  tenant: Tenant;
  /** When this process read the row, by the ledger's clock. */
  readAt: number;
}

/** Looked-up keys per database, by secret hash. Bounded: it is cleared when it reaches `maxCachedKeys`. */
const keyCaches = new WeakMap<Database, Map<string, CachedKey>>();
const maxCachedKeys = 10_000;

/** The caller behind a key, or null for an unknown, malformed, revoked or expired key. */
export async function authenticate(database: Database, secret: string, now: Date): Promise<Caller | null> {
  // The format check is free and keeps arbitrary strings from reaching the database.
  if (!keyPattern.test(secret)) return null;
  const secretHash = hashSecret(secret);
  let cache = keyCaches.get(database);
  if (!cache) {
    cache = new Map();
    keyCaches.set(database, cache);
  }
  let found = cache.get(secretHash);
  if (!found || now.getTime() - found.readAt >= apiKeyCacheMs || now.getTime() < found.readAt) {
    const row = await findKey(database, secretHash);
    if (!row) {
      cache.delete(secretHash);
      return null;
    }
    if (cache.size >= maxCachedKeys) cache.clear();
    found = { ...row, readAt: now.getTime() };
    cache.set(secretHash, found);
  }
  const { apiKey, tenant } = found;
  if (!isUsable(apiKey, now)) return null;
  await recordUse(database, apiKey, now);
  const scopes = new Set(
    apiKey.scopes.split(" ").filter((scope): scope is ApiKeyScope => scope === "read" || scope === "write"),
  );
  return { tenant, apiKey, scopes };
}

/** A key with its tenant, in one statement. */
async function findKey(database: Database, secretHash: string): Promise<{ apiKey: ApiKey; tenant: Tenant } | null> {
  const [row] = await database.reader.query<
    ApiKey & {
      tenantName: string;
      tenantTimeZone: string;
      tenantDefaultLocale: string;
      tenantCreatedAt: Date;
      tenantUpdatedAt: Date;
    }
  >(sql`
    SELECT k.id, k.tenant_id, k.name, k.prefix, k.secret_hash, k.scopes, k.expires_at, k.revoked_at, k.last_used_at,
           k.created_at, t.name AS tenant_name, t.time_zone AS tenant_time_zone,
           t.default_locale AS tenant_default_locale, t.created_at AS tenant_created_at, t.updated_at AS tenant_updated_at
    FROM api_key k JOIN tenant t ON t.id = k.tenant_id
    WHERE k.secret_hash = ${secretHash}`);
  if (!row) return null;
  const { tenantName, tenantTimeZone, tenantDefaultLocale, tenantCreatedAt, tenantUpdatedAt, ...apiKey } = row;
  return {
    apiKey,
    tenant: {
      id: apiKey.tenantId,
      name: tenantName,
      timeZone: tenantTimeZone,
      defaultLocale: tenantDefaultLocale,
      createdAt: tenantCreatedAt,
      updatedAt: tenantUpdatedAt,
    },
  };
}

/** Forgets what this process cached of a key, so that its revocation applies here at once. */
function forgetKey(database: Database, keyId: string): void {
  const cache = keyCaches.get(database);
  if (!cache) return;
  for (const [hash, cached] of cache) if (cached.apiKey.id === keyId) cache.delete(hash);
}

/** Whether the key still authenticates: neither revoked nor past its expiry. */
export function isUsable(apiKey: Pick<ApiKey, "revokedAt" | "expiresAt">, now: Date): boolean {
  return apiKey.revokedAt === null && (apiKey.expiresAt === null || apiKey.expiresAt > now);
}

/** How precisely `lastUsedAt` is kept: a key's use is written at most once per this many milliseconds. */
export const lastUseResolutionMs = 60_000;

/**
 * When this process last wrote each key's use, in milliseconds. A burst of requests arriving just after the
 * minute has passed all read the same stale `lastUsedAt`; this keeps them from each sending an update.
 */
const lastUseWrites = new Map<string, number>();

/**
 * Records that the key was used, unless that was already recorded within the last minute. Knowing roughly
 * when a key was last used is what tells an operator whether revoking it will break a client; writing on
 * every request would instead turn every read into a write, which on SQLite means queueing for the single
 * write lock.
 */
async function recordUse(database: Database, apiKey: ApiKey, now: Date): Promise<void> {
  const threshold = now.getTime() - lastUseResolutionMs;
  if (apiKey.lastUsedAt !== null && apiKey.lastUsedAt.getTime() > threshold) return;
  const written = lastUseWrites.get(apiKey.id);
  if (written !== undefined && written > threshold && written <= now.getTime()) return;
  // Keys are few, but a process serving many tenants for months should not keep an entry for every key it
  // ever saw; forgetting them all only costs one conditional update per key.
  if (lastUseWrites.size >= 10_000) lastUseWrites.clear();
  lastUseWrites.set(apiKey.id, now.getTime());
  try {
    // Conditional, so that several gateway processes sharing one database still write once a minute.
    await database.write.apiKey.updateMany({
      where: { id: apiKey.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: new Date(threshold) } }] },
      data: { lastUsedAt: now },
    });
  } catch {
    // The last use is bookkeeping for operators; a request must not fail because it could not be written.
    // The next request after the throttle tries again.
    lastUseWrites.delete(apiKey.id);
  }
}

/** A tenant's keys, oldest first, without their hashes: what a listing may show. */
export async function listApiKeys(database: Database, tenantId: string): Promise<Omit<ApiKey, "secretHash">[]> {
  return database.read.apiKey.findMany({
    where: { tenantId },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    omit: { secretHash: true },
  });
}

export type RevokeResult =
  | { outcome: "revoked" | "already-revoked"; apiKey: Omit<ApiKey, "secretHash"> }
  | { outcome: "not-found" }
  | { outcome: "ambiguous"; matches: Omit<ApiKey, "secretHash">[] };

/**
 * Revokes the key with this id or prefix (as listings show it). A prefix is random, so two keys sharing one
 * is unlikely but possible; then nothing is revoked and the matches are returned, so that the operator can
 * name the key by its id. Revoking a revoked key changes nothing, so running the command twice is harmless.
 */
export async function revokeApiKey(database: Database, idOrPrefix: string, now: Date): Promise<RevokeResult> {
  const reference = idOrPrefix.trim();
  if (reference === "") return { outcome: "not-found" };
  const matches = await database.read.apiKey.findMany({
    where: { OR: [{ id: reference }, { prefix: reference }] },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    omit: { secretHash: true },
  });
  // An exact id wins over a prefix that happens to look the same.
  const byId = matches.find((key) => key.id === reference);
  const candidates = byId ? [byId] : matches;
  const [apiKey] = candidates;
  if (!apiKey) return { outcome: "not-found" };
  if (candidates.length > 1) return { outcome: "ambiguous", matches: candidates };
  if (apiKey.revokedAt !== null) return { outcome: "already-revoked", apiKey };
  // Conditional, so that a concurrent revocation keeps the first revocation time.
  await database.write.apiKey.updateMany({ where: { id: apiKey.id, revokedAt: null }, data: { revokedAt: now } });
  forgetKey(database, apiKey.id);
  const revoked = await database.write.apiKey.findUniqueOrThrow({
    where: { id: apiKey.id },
    omit: { secretHash: true },
  });
  return { outcome: "revoked", apiKey: revoked };
}
