// Publishes a live event for every ledger entry a money-moving write (or batch of them) committed.
//
// The ledger knows nothing of subscriptions: this wraps its write operations from the outside. A ledger
// operation returns only after its transaction has committed (or rolled back), so an event is published
// only for what is stored: a refused write, a rolled-back one, a dry run (rolled back by design: its outcome
// carries a `preview`) and an idempotent replay (which stores nothing new) publish nothing. Each write's
// entries are published in sequence order.
import { entriesOfActions } from "../../ledger/reads.ts";
import type { ActionOutcome, Ledger, LedgerResult } from "../../ledger/index.ts";
import type { CreditEntry } from "../../generated/postgres/client.ts";
import type { LedgerEvent } from "./events.ts";

/**
 * The operations that can write entries (holds: an authorization, capture or release records an action whose
 * entries, if any, are published like any other). Directory writes (customers, accounts, stores) write none.
 */
const entryWritingOperations = [
  "deposit",
  "reduce",
  "transfer",
  "reverse",
  "voidGrant",
  // An expiry change moves no credits, but its entry takes the account's next sequence number.
  "changeGrantExpiry",
  "authorize",
  "capture",
  "release",
] as const;

type EntryWritingOperation = (tenantId: string, input: never) => Promise<LedgerResult<ActionOutcome>>;

export interface PublishingOptions {
  publish: (event: LedgerEvent) => void;
  /** Reports a failure to build the events; the write itself has succeeded and is answered as such. */
  onError: (error: unknown) => void;
}

/** The same ledger, publishing the entries of every committed write. */
export function publishingLedger(ledger: Ledger, options: PublishingOptions): Ledger {
  const publishing: Ledger = { ...ledger };
  for (const name of entryWritingOperations) {
    const operation = ledger[name] as EntryWritingOperation;
    const wrapped: EntryWritingOperation = async (tenantId, input) => {
      const result = await operation(tenantId, input);
      if (result.ok && !result.replayed && result.preview === undefined) {
        try {
          for (const event of await eventsOf(ledger, tenantId, result)) options.publish(event);
        } catch (error) {
          options.onError(error);
        }
      }
      return result;
    };
    (publishing as Record<string, unknown>)[name] = wrapped;
  }
  // A batch commits all its items in one transaction: their entries go out after that commit, together.
  publishing.applyBatch = async (tenantId, input) => {
    const result = await ledger.applyBatch(tenantId, input);
    if (result.ok && !result.replayed && result.preview === undefined) {
      try {
        const written = {
          accounts: result.accounts,
          settled: result.settled,
          entries: result.items.flatMap((item) => item.entries),
        };
        for (const event of await eventsOf(ledger, tenantId, written)) options.publish(event);
      } catch (error) {
        options.onError(error);
      }
    }
    return result;
  };
  return publishing;
}

async function eventsOf(
  ledger: Ledger,
  tenantId: string,
  outcome: Pick<ActionOutcome, "accounts" | "settled" | "entries">,
): Promise<LedgerEvent[]> {
  const customerOf = new Map(outcome.accounts.map((account) => [account.id, account.customerId]));
  // Expirations the write recorded first (grants that had lapsed) have entries of their own, numbered before
  // the action's; the outcome names those actions but not their entries, so they are read (rarely needed:
  // only when a grant lapsed since the account was last touched). Without them subscribers would see a gap.
  const settledEntries =
    outcome.settled.length === 0
      ? []
      : await entriesOfActions(
          ledger.database,
          tenantId,
          outcome.settled.map((action) => action.id),
        );
  const entries: CreditEntry[] = [...settledEntries, ...outcome.entries].sort(
    (a, b) => a.accountId.localeCompare(b.accountId) || a.sequence - b.sequence,
  );
  return entries.flatMap((entry) => {
    const customerId = customerOf.get(entry.accountId);
    if (customerId === undefined) return [];
    return [
      {
        tenantId,
        customerId,
        accountId: entry.accountId,
        actionId: entry.actionId,
        sequence: Number(entry.sequence),
        balance: entry.balanceAfter.toString(),
      },
    ];
  });
}
