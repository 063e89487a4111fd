// What a money-moving operation returns on success, and how it is rebuilt for an idempotent replay.
import { join, sql, type SqlRunner } from "../db/sql.ts";
import type { CreditAccount, CreditAction, CreditEntry, CreditGrant } from "../generated/postgres/client.ts";
import type { RecordedAllocation } from "./write-session.ts";

/** One action a dry run would record, with its entries and the grants it would fill or spend, in order. */
export interface PreviewAction {
  action: CreditAction;
  entries: CreditEntry[];
  allocations: RecordedAllocation[];
}

/** What a dry run would have written (see money-write.ts); nothing of it is stored. */
export interface WritePreview {
  action: PreviewAction;
  /** Expirations and voids the write would record first (grants that lapsed before it). */
  settled: PreviewAction[];
}

export interface ActionOutcome {
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  replayed: boolean;
  action: CreditAction;
  /** One per account the action touched, with that account's balance before and after. */
  entries: CreditEntry[];
  /** The new balance of every account touched, as of this action. */
  balances: { accountId: string; balance: bigint }[];
  /**
   * The accounts the transaction touched, as it left them (their rows after the write), so that an answer
   * needs no read of its own. Empty on a replay: its accounts may have moved since.
   */
  accounts: CreditAccount[];
  /** Grants the action created (a deposit's grant, the grants a transfer opened in the target account). */
  grants: CreditGrant[];
  /**
   * Expirations and voids the ledger recorded in the same transaction (grants that lapsed before this
   * action, or credits a reversal returned to a lapsed grant). Empty on a replay.
   */
  settled: CreditAction[];
  /** Set on a dry run that would have written: what it would have written. Nothing was. */
  preview?: WritePreview;
}

export function outcomeOf(
  action: CreditAction,
  entries: CreditEntry[],
  grants: CreditGrant[],
  settled: CreditAction[],
  replayed = false,
): ActionOutcome {
  return {
    replayed,
    action,
    entries,
    balances: entries.map((entry) => ({ accountId: entry.accountId, balance: entry.balanceAfter })),
    accounts: [],
    grants,
    settled,
  };
}

/** The stored outcome of an action, for a replay: its entries (the debit first) and the grants it created. */
export async function loadOutcome(tx: SqlRunner, action: CreditAction): Promise<ActionOutcome> {
  const [outcome] = await loadOutcomes(tx, [action]);
  if (!outcome) throw new Error("Bug: no outcome loaded for an action.");
  return outcome;
}

/** The stored outcomes of these actions, in two statements whatever their number. */
export async function loadOutcomes(tx: SqlRunner, actions: CreditAction[]): Promise<ActionOutcome[]> {
  if (actions.length === 0) return [];
  const ids = actions.map((action) => action.id);
  // One after the other: statements of one transaction share one connection.
  const entries = await tx.query<CreditEntry>(
    sql`SELECT * FROM credit_entry WHERE action_id IN (${join(ids)}) ORDER BY CASE WHEN direction = ${"DEBIT"} THEN 0 ELSE 1 END, id`,
  );
  const grants = await tx.query<CreditGrant>(
    sql`SELECT * FROM credit_grant WHERE created_by_action_id IN (${join(ids)}) ORDER BY id`,
  );
  return actions.map((action) =>
    outcomeOf(
      action,
      entries.filter((entry) => entry.actionId === action.id),
      grants.filter((grant) => grant.createdByActionId === action.id),
      [],
      true,
    ),
  );
}
