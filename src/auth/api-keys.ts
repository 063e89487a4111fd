// API keys: how a request names its tenant. A key is shown once, at creation; only its SHA-256 is stored, so
// a database leak does not leak usable keys. Keys arrive as `Authorization: Bearer <key>` (Thought
// Industries) or `X-Api-Key: <key>` (Inveterate style).
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "../db/client.ts";
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
  const prefix = `clk_${randomBytes(6).toString("base64url").toLowerCase().replace(/[^a-z0-9]/g, "0").slice(0, 8)}`;
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

/** The caller behind a key, or null for an unknown, malformed, revoked or expired key. */
export async function authenticate(database: Database, secret: string, now: Date): Promise<Caller | null> {
  // The format check is free and keeps arbitrary strings from reaching the database.
  if (!keyPattern.test(secret)) return null;
  const apiKey = await database.read.apiKey.findUnique({ where: { secretHash: hashSecret(secret) }, include: { tenant: true } });
  if (!apiKey || apiKey.revokedAt !== null || (apiKey.expiresAt !== null && apiKey.expiresAt <= now)) return null;
  const { tenant, ...key } = apiKey;
  const scopes = new Set(key.scopes.split(" ").filter((scope): scope is ApiKeyScope => scope === "read" || scope === "write"));
  return { tenant, apiKey: key, scopes };
}
