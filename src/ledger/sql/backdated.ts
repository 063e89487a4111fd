// What a backdated write must know about an account's past, in one statement: the lowest and highest balance
// from the write's effective time on, and the credits of grants that were spendable at that time. Only a write
// effective before now asks (one effective now cannot change any earlier moment), so the usual write costs
// nothing here.
import { join, type Sql, sql, type SqlRunner } from "../../db/sql.ts";
import { exactSum, signedHigh, signedLow } from "./exact-sums.ts";

export interface PastBalances {
  /**
   * The lowest balance the account has at any moment from `at` on, as its entries stand: the balance at `at`
   * itself, and after each later entry (entries effective at the same moment count together, as balanceAt
   * reads them).
   */
  lowestFrom: bigint;
  /**
   * The highest balance the account has at any moment from `at` on, read like `lowestFrom`: a backdated credit
   * adds to every one of those balances, so this plus the credit must stay within the 64-bit range.
   */
  highestFrom: bigint;
  /** What the grants that hold credits now and had taken effect, and not lapsed, by `at` hold. */
  spendableAt: bigint;
}

/**
 * The past in one statement, exactly. A balance now never leaves the 64-bit range (BALANCE_OUT_OF_RANGE), but
 * a balance in the past can: a credit backdated before a large debit adds to every balance between the two,
 * and the check bounds only the balance now. So amounts are summed as sql/exact-sums.ts does (SQLite's SUM
 * fails past the range): the balance at `at`, then the change at each later moment (entries effective at one
 * moment together), whose running sums are taken in order here rather than by a window in SQL. Only a backdated write asks (a debit for the lowest balance, a credit for
 * the highest), for every account it touches in the one statement, and it reads one row per later moment.
 * The grants' remaining amounts add up to the account's positive balance now, which is within the range.
 */
export async function pastBalances(tx: SqlRunner, accountIds: string[], at: Date): Promise<Map<string, PastBalances>> {
  const ids = join(accountIds);
  const rows = await tx.query<{ accountId: string; part: unknown; high: unknown; low: unknown }>(sql`
    SELECT account_id, 0 AS part, NULL AS effective_at, SUM(${signedHigh}) AS high, SUM(${signedLow}) AS low
      FROM credit_entry WHERE account_id IN (${ids}) AND effective_at <= ${at}
      GROUP BY account_id
    UNION ALL
    SELECT account_id, 1 AS part, effective_at, SUM(${signedHigh}) AS high, SUM(${signedLow}) AS low
      FROM credit_entry WHERE account_id IN (${ids}) AND effective_at > ${at}
      GROUP BY account_id, effective_at
    UNION ALL
    SELECT account_id, 2 AS part, NULL AS effective_at, 0 AS high, SUM(remaining_amount) AS low
      FROM credit_grant WHERE account_id IN (${ids}) AND remaining_amount > 0 AND ${spendableAt(at)}
      GROUP BY account_id
    ORDER BY account_id, part, effective_at`);
  // An account without entries by `at` (or without spendable grants) has no row for that part: zero.
  const running = new Map<string, PastBalances & { balance: bigint }>(
    accountIds.map((id) => [id, { balance: 0n, lowestFrom: 0n, highestFrom: 0n, spendableAt: 0n }]),
  );
  for (const row of rows) {
    const account = running.get(row.accountId);
    if (!account) throw new Error(`Bug: past balances of account ${row.accountId}, which was not asked for.`);
    const part = Number(row.part);
    if (part === 2) {
      // The grants' sum is within the range (see above), so it needs no halves: it comes whole, as `low`.
      account.spendableAt = exactSum(row.high, row.low);
      continue;
    }
    account.balance += exactSum(row.high, row.low);
    // Part 0 is the balance at `at` itself, part 1 the balance after each later moment, in time order.
    if (part === 0 || account.balance < account.lowestFrom) account.lowestFrom = account.balance;
    if (part === 0 || account.balance > account.highestFrom) account.highestFrom = account.balance;
  }
  return running;
}

/**
 * When a debit last took credits from the grant (by the debit's effective time), or null when none did: a void
 * backdated before that moment would make that debit have spent a void grant.
 */
export async function lastSpentAt(tx: SqlRunner, grantId: string): Promise<Date | null> {
  const [row] = await tx.query<{ lastSpentAt: Date | null }>(sql`
    SELECT MAX(a.effective_at) AS last_spent_at
    FROM credit_allocation al JOIN credit_action a ON a.id = al.action_id
    WHERE al.grant_id = ${grantId} AND al.direction = ${"DEBIT"}`);
  return row?.lastSpentAt ?? null;
}

/** Grants spendable at a moment: in effect by then, and neither expired nor voided by then. */
export function spendableAt(at: Date): Sql {
  return sql`effective_at <= ${at} AND (expires_at IS NULL OR expires_at > ${at}) AND (voided_at IS NULL OR voided_at > ${at})`;
}
