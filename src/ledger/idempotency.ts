// Idempotency keys: a retry with the same key and the same parameters returns the original result, marked
// as a replay; the same key with different parameters is refused. The key is stored on the action itself,
// unique per tenant, so the database guarantees that concurrent requests with one key write one action.
//
// The happy path costs no lookup: the action is inserted with `ON CONFLICT (tenant_id, idempotency_key) DO
// NOTHING` (see WriteSession.beginAction), and only when that insert finds the key taken, or when the request
// is refused, is the key looked up here to answer from the original (a replay, or IDEMPOTENCY_KEY_REUSED). A
// concurrent request with the same key waits at that insert for the first one's transaction to end, then
// finds its committed action.
//
// Only successful writes are remembered: a refused request writes nothing, so retrying it with the same key
// is evaluated afresh (the balance may have changed in between).
import { createHash } from "node:crypto";
import { sql, type SqlRunner } from "../db/sql.ts";
import type { CreditAction } from "../generated/postgres/client.ts";
import { failure, type LedgerFailure } from "./result.ts";
import type { ActionOutcome } from "./outcome.ts";
import { loadOutcome } from "./outcome.ts";

/** A stable fingerprint of an operation and its parameters as the caller sent them. */
export function requestFingerprint(operation: string, parameters: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson({ operation, parameters })).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (typeof value === "bigint") return JSON.stringify(value.toString());
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined && item !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * IDEMPOTENCY_KEY_REUSED for a key whose stored request differs from this one. The calling API key is part of
 * the fingerprint (it is the recorded initiator unless the caller names another), so the byte-identical request
 * from another API key of the tenant is a different request; the stored action says which key wrote it, so the
 * refusal can say so (`reason` "other-api-key") instead of claiming the parameters differ (`reason`
 * "different-request"). The fingerprint stays as it is: stored hashes depend on it.
 */
export function keyReused(
  idempotencyKey: string,
  ids: Record<string, string>,
  originalApiKeyId: string | null,
  callerApiKeyId: string | null,
): LedgerFailure {
  if (originalApiKeyId !== null && callerApiKeyId !== null && originalApiKeyId !== callerApiKeyId) {
    return failure(
      "IDEMPOTENCY_KEY_REUSED",
      "idempotencyKey",
      "This idempotency key was already used by another API key of this tenant; an idempotency key belongs to the API key that first used it, so retry with that API key, or use a new idempotency key.",
      { idempotencyKey, ...ids, reason: "other-api-key" },
    );
  }
  return failure(
    "IDEMPOTENCY_KEY_REUSED",
    "idempotencyKey",
    "This idempotency key was already used for a different request; use a new key for a new request.",
    { idempotencyKey, ...ids, reason: "different-request" },
  );
}

/**
 * Looks the key up. Returns null when it is new, the original outcome when this is a replay, or
 * IDEMPOTENCY_KEY_REUSED when the key was used for a different request (or by another API key).
 */
export async function findReplay(
  tx: SqlRunner,
  tenantId: string,
  idempotencyKey: string | null,
  fingerprint: string,
  callerApiKeyId: string | null,
): Promise<ActionOutcome | LedgerFailure | null> {
  if (idempotencyKey === null) return null;
  const [original] = await tx.query<CreditAction>(
    sql`SELECT * FROM credit_action WHERE tenant_id = ${tenantId} AND idempotency_key = ${idempotencyKey}`,
  );
  if (!original) return null;
  if (original.requestHash !== fingerprint) {
    // Only an API_KEY initiator puts the calling key into the fingerprint; a USER or SYSTEM one does not.
    const originalKey = original.initiatorType === "API_KEY" ? original.apiKeyId : null;
    return keyReused(idempotencyKey, { actionId: original.id }, originalKey, callerApiKeyId);
  }
  return { ...(await loadOutcome(tx, original)), replayed: true };
}
