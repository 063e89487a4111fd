// The hold rows of a write. A hold changes only under its account's lock (see lockAccounts), and it leaves
// PENDING through a conditional UPDATE, so that a capture, a release and an expiry can each find it pending at
// most once between them.
import { join, sql, type SqlRunner } from "../../db/sql.ts";
import type { CreditHold } from "../../generated/postgres/client.ts";
import type { HoldState } from "../../generated/postgres/enums.ts";

export async function holdById(tx: SqlRunner, holdId: string): Promise<CreditHold | null> {
  const [hold] = await tx.query<CreditHold>(sql`SELECT * FROM credit_hold WHERE id = ${holdId}`);
  return hold ?? null;
}

/**
 * Closes a pending hold, in one statement that also checks it: still PENDING, not past its expiry at `now`,
 * and holding at least `capturedAmount` (null: the whole hold is captured; a release passes 0). Returns the
 * hold as closed, or null when a check failed (read it to say which): nothing is changed then.
 */
export async function closePendingHold(
  tx: SqlRunner,
  holdId: string,
  to: Exclude<HoldState, "PENDING" | "EXPIRED">,
  capturedAmount: bigint | null,
  now: Date,
): Promise<CreditHold | null> {
  const captured = sql`COALESCE(CAST(${capturedAmount} AS BIGINT), amount)`;
  const [hold] = await tx.query<CreditHold>(sql`
    UPDATE credit_hold SET state = ${to}, captured_amount = ${captured}, closed_at = ${now}, updated_at = ${now}
    WHERE id = ${holdId} AND state = ${"PENDING"} AND (expires_at IS NULL OR expires_at > ${now})
      AND amount >= ${captured}
    RETURNING *`);
  return hold ?? null;
}

/**
 * Marks EXPIRED every pending hold of these accounts whose expiry has come by `now`, closed at its expiry,
 * and returns them (oldest expiry first), for their HOLD_EXPIRATION actions.
 */
export async function expireLapsedHolds(
  tx: SqlRunner,
  accountIds: readonly string[],
  now: Date,
): Promise<CreditHold[]> {
  const expired = await tx.query<CreditHold>(sql`
    UPDATE credit_hold SET state = ${"EXPIRED"}, closed_at = expires_at, updated_at = ${now}
    WHERE account_id IN (${join(accountIds)}) AND state = ${"PENDING"} AND expires_at <= ${now}
    RETURNING *`);
  // RETURNING has no ORDER BY: sort here, so the expirations are recorded in a stable order.
  return expired.sort(
    (a, b) => (a.expiresAt?.getTime() ?? 0) - (b.expiresAt?.getTime() ?? 0) || (a.id < b.id ? -1 : 1),
  );
}
