// Action rows read on the write path (new actions are inserted by WriteSession.beginAction).
import { sql, type SqlRunner } from "../../db/sql.ts";
import type { CreditAction } from "../../generated/postgres/client.ts";

/**
 * The tenant's action to reverse, with the id of its reversal if it has one, read by the update of its
 * updatedAt that a reversal makes anyway. Being a write, this is the statement that takes SQLite's write lock
 * (see lockAccounts); on PostgreSQL it locks the action's row, so concurrent reversals of one action queue
 * here, and the later one finds the earlier one's reversal (or, if it read before that committed, fails on
 * the unique link and is retried).
 */
export async function touchActionToReverse(
  tx: SqlRunner,
  tenantId: string,
  actionId: string,
  now: Date,
): Promise<(CreditAction & { reversalId: string | null }) | null> {
  const [row] = await tx.query<CreditAction & { reversalId: string | null }>(sql`
    UPDATE credit_action SET updated_at = ${now}
    WHERE id = ${actionId} AND tenant_id = ${tenantId}
    RETURNING *, (SELECT r.id FROM credit_action r WHERE r.reverses_action_id = credit_action.id) AS reversal_id`);
  return row ?? null;
}
