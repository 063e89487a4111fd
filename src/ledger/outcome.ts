// What a money-moving operation returns on success, and how it is rebuilt for an idempotent replay.
import type { PrismaClient, TransactionClient } from "../db/client.ts";
import type { CreditAction, CreditEntry, CreditGrant } from "../generated/postgres/client.ts";

export interface ActionOutcome {
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  replayed: boolean;
  action: CreditAction;
  /** One per account the action touched, with that account's balance before and after. */
  entries: CreditEntry[];
  /** The new balance of every account touched, as of this action. */
  balances: { accountId: string; balance: bigint }[];
  /** Grants the action created (a deposit's grant, the grants a transfer opened in the target account). */
  grants: CreditGrant[];
  /**
   * Expirations and voids the ledger recorded in the same transaction (grants that lapsed before this
   * action, or credits a reversal returned to a lapsed grant). Empty on a replay.
   */
  settled: CreditAction[];
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
    grants,
    settled,
  };
}

export async function loadOutcome(client: TransactionClient | PrismaClient, action: CreditAction): Promise<ActionOutcome> {
  const [entries, grants] = await Promise.all([
    client.creditEntry.findMany({ where: { actionId: action.id }, orderBy: { direction: "desc" } }),
    client.creditGrant.findMany({ where: { createdByActionId: action.id }, orderBy: { id: "asc" } }),
  ]);
  return outcomeOf(action, entries, grants, [], true);
}
