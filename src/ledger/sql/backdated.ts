// What a backdated write must know about an account's past, in one statement: the lowest balance from the
// write's effective time on, and the credits of grants that were spendable at that time. Only a write
// effective before now asks (one effective now cannot change any earlier moment), so the usual write costs
// nothing here.
import { type Sql, sql, type SqlRunner } from "../../db/sql.ts";

export interface PastBalances {
  /**
   * The lowest balance the account has at any moment from `at` on, as its entries stand: the balance at `at`
   * itself, and after each later entry (entries effective at the same moment count together, as balanceAt
   * reads them).
   */
  lowestFrom: bigint;
  /** What the grants that hold credits now and had taken effect, and not lapsed, by `at` hold. */
  spendableAt: bigint;
}

export async function pastBalances(tx: SqlRunner, accountId: string, at: Date): Promise<PastBalances> {
  const signed = sql`CASE WHEN direction = ${"CREDIT"} THEN amount ELSE -amount END`;
  const [row] = await tx.query<{ balanceThen: unknown; lowestLater: unknown; spendable: unknown }>(sql`
    SELECT
      (SELECT COALESCE(SUM(${signed}), 0) FROM credit_entry WHERE account_id = ${accountId} AND effective_at <= ${at}) AS balance_then,
      (SELECT MIN(running.balance) FROM (
         SELECT effective_at, SUM(${signed}) OVER (ORDER BY effective_at) AS balance
         FROM credit_entry WHERE account_id = ${accountId}
       ) running WHERE running.effective_at > ${at}) AS lowest_later,
      (SELECT COALESCE(SUM(remaining_amount), 0) FROM credit_grant
       WHERE account_id = ${accountId} AND remaining_amount > 0 AND ${spendableAt(at)}) AS spendable`);
  // Sums arrive as PostgreSQL numeric (text) or SQLite integers; both convert exactly.
  const balanceThen = BigInt(String(row?.balanceThen ?? 0));
  const lowestLater =
    row?.lowestLater === null || row?.lowestLater === undefined ? null : BigInt(String(row.lowestLater));
  return {
    lowestFrom: lowestLater !== null && lowestLater < balanceThen ? lowestLater : balanceThen,
    spendableAt: BigInt(String(row?.spendable ?? 0)),
  };
}

/** Grants spendable at a moment: in effect by then, and neither expired nor voided by then. */
export function spendableAt(at: Date): Sql {
  return sql`effective_at <= ${at} AND (expires_at IS NULL OR expires_at > ${at}) AND (voided_at IS NULL OR voided_at > ${at})`;
}
