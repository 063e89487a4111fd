// The grant rows of a write: read in spending order a page at a time, lapsed ones found, remaining amounts
// changed in one statement per batch, each change conditional on the amount read under the account lock.
import { empty, join, sql, type SqlRunner } from "../../db/sql.ts";
import type { CreditGrant } from "../../generated/postgres/client.ts";
import { spendableAt } from "./backdated.ts";
import { valueById } from "./rows.ts";

/**
 * The account's grants that still hold credits, in spending order: priority (lower first), soonest expiry
 * (none last), oldest effective time, then id. Grants created by `preferCreatedBy` come first (a reversal
 * takes back the very credits the original brought). A backdated debit reads only the grants spendable at
 * its effective time (`spendableAtTime`).
 */
export function spendingPage(
  tx: SqlRunner,
  accountId: string,
  pageSize: number,
  options: { preferCreatedBy: string | null; spendableAtTime: Date | null },
): Promise<CreditGrant[]> {
  const { preferCreatedBy, spendableAtTime } = options;
  const preferred =
    preferCreatedBy === null ? empty : sql`CASE WHEN created_by_action_id = ${preferCreatedBy} THEN 0 ELSE 1 END, `;
  const spendable = spendableAtTime === null ? empty : sql` AND ${spendableAt(spendableAtTime)}`;
  return tx.query<CreditGrant>(sql`
    SELECT * FROM credit_grant
    WHERE account_id = ${accountId} AND remaining_amount > 0${spendable}
    ORDER BY ${preferred}priority, CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, effective_at, id
    LIMIT ${pageSize}`);
}

/** Grants of the accounts that hold credits but have expired by `now` or were voided, soonest first. */
export function lapsedGrants(tx: SqlRunner, accountIds: readonly string[], now: Date): Promise<CreditGrant[]> {
  return tx.query<CreditGrant>(sql`
    SELECT * FROM credit_grant
    WHERE account_id IN (${join(accountIds)}) AND remaining_amount > 0
      AND (expires_at <= ${now} OR voided_at IS NOT NULL)
    ORDER BY expires_at, id`);
}

export async function grantById(tx: SqlRunner, grantId: string): Promise<CreditGrant | null> {
  const [grant] = await tx.query<CreditGrant>(sql`SELECT * FROM credit_grant WHERE id = ${grantId}`);
  return grant ?? null;
}

/** The grants an action took credits from, with how much it took from each, by grant id. */
export function debitedGrants(tx: SqlRunner, actionId: string): Promise<(CreditGrant & { allocatedAmount: bigint })[]> {
  return tx.query(sql`
    SELECT g.*, al.amount AS allocated_amount
    FROM credit_allocation al JOIN credit_grant g ON g.id = al.grant_id
    WHERE al.action_id = ${actionId} AND al.direction = ${"DEBIT"}
    ORDER BY g.id`);
}

export interface RemainingChange {
  grantId: string;
  /** The remaining amount read under the lock; the update asserts it is still that. */
  from: bigint;
  to: bigint;
}

const changesPerStatement = 500;

/**
 * Sets the remaining amounts, in one statement per 500 grants (and voids them all at `voidedAt` when given).
 * Throws a bug when a grant's amount is not the one read: only this transaction may change the grants of the
 * accounts it has locked.
 */
export async function changeRemaining(
  tx: SqlRunner,
  changes: readonly RemainingChange[],
  now: Date,
  voidedAt: Date | null = null,
): Promise<void> {
  for (let start = 0; start < changes.length; start += changesPerStatement) {
    const batch = changes.slice(start, start + changesPerStatement);
    const to = new Map(batch.map((change) => [change.grantId, change.to]));
    const from = new Map(batch.map((change) => [change.grantId, change.from]));
    const voiding = voidedAt === null ? empty : sql`, voided_at = ${voidedAt}`;
    const updated = await tx.execute(sql`
      UPDATE credit_grant SET remaining_amount = ${valueById(to, "BIGINT")}, updated_at = ${now}${voiding}
      WHERE id IN (${join([...to.keys()])}) AND remaining_amount = ${valueById(from, "BIGINT")}`);
    if (updated !== batch.length)
      throw new Error(`Bug: grants changed under the account lock (${updated} of ${batch.length} updated).`);
  }
}

/** Sets a grant's expiry (null: never); the grant's account is locked by the caller. */
export async function setExpiry(tx: SqlRunner, grantId: string, expiresAt: Date | null, now: Date): Promise<void> {
  await tx.execute(sql`UPDATE credit_grant SET expires_at = ${expiresAt}, updated_at = ${now} WHERE id = ${grantId}`);
}

/**
 * Takes out of the scheduled state every scheduled grant of these accounts whose effective time has come by
 * `now`, and returns them (soonest first) for their deposits' entries. The grants still hold nothing: the
 * caller credits them. Conditional on the grant still being scheduled, so a grant takes effect at most once,
 * and never after a void took it out of the scheduled state first.
 */
export async function takeDueScheduledGrants(
  tx: SqlRunner,
  accountIds: readonly string[],
  now: Date,
): Promise<CreditGrant[]> {
  const due = await tx.query<CreditGrant>(sql`
    UPDATE credit_grant SET scheduled_amount = 0, updated_at = ${now}
    WHERE account_id IN (${join(accountIds)}) AND scheduled_amount > 0 AND effective_at <= ${now}
    RETURNING *`);
  // RETURNING has no ORDER BY: sort here, so the deposits are recorded in the order they took effect.
  return due.sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime() || (a.id < b.id ? -1 : 1));
}

/**
 * Voids a grant that is still scheduled, at `voidedAt`; throws a bug unless it was still scheduled with the
 * amount read under the account lock (only this transaction may change the grants of a locked account).
 */
export async function cancelScheduledGrant(
  tx: SqlRunner,
  grant: CreditGrant,
  voidedAt: Date,
  now: Date,
): Promise<void> {
  const updated = await tx.execute(sql`
    UPDATE credit_grant SET scheduled_amount = 0, voided_at = ${voidedAt}, updated_at = ${now}
    WHERE id = ${grant.id} AND scheduled_amount = ${grant.scheduledAmount} AND voided_at IS NULL`);
  if (updated !== 1) throw new Error(`Bug: scheduled grant ${grant.id} changed under its account's lock.`);
}
