// The account rows of a write: locked and read in one statement at the start, their balances written in one
// statement at the end. The only SQL of the write path that differs between the engines is here.
import type { DatabaseEngine } from "../../config/database-url.ts";
import { empty, join, raw, type Sql, sql, type SqlRunner, truthy } from "../../db/sql.ts";
import type { CreditAccount } from "../../generated/postgres/client.ts";
import { valueById } from "./rows.ts";

/**
 * Which accounts to lock: by id, or the one holding a grant (a void knows only the grant), or the one a hold
 * is on (a capture or release knows only the hold).
 */
export type AccountSelector =
  | { ids: readonly string[] }
  | { holderOfGrant: string }
  | { holderOfHold: string }
  /** A batch's accounts: those named by its items, and those holding the holds its items capture or release. */
  | { ids: readonly string[]; holdersOfHolds: readonly string[] };

/** The store and partner a write names, checked for existence in the statement that locks the accounts. */
export interface References {
  storeId: string | null;
  partnerId: string | null;
}

export interface LockedAccounts {
  rows: CreditAccount[];
  /** Whether the named store and partner are the tenant's; unknown (null) when no account was found. */
  storeFound: boolean | null;
  partnerFound: boolean | null;
}

/**
 * Locks the tenant's accounts for the rest of the transaction and reads them, with whether the store and
 * partner exist, in one round trip.
 *
 * PostgreSQL: row locks in id order (`FOR UPDATE`), so writers on one account run one after the other and
 * two transfers in opposite directions cannot deadlock. SQLite has one writer at a time per database file and
 * opens transactions with a deferred BEGIN, which takes the write lock only at the first write: a transaction
 * that read first and wrote later fails at once (SQLITE_BUSY_SNAPSHOT) when another process committed in
 * between. So on SQLite the statement is a write that changes nothing, which takes the write lock up front
 * (what BEGIN IMMEDIATE does) and makes another process wait for it, up to the busy timeout. Every write
 * transaction on SQLite therefore starts with a write: this one, or (a reversal) the update of the original.
 */
export async function lockAccounts(
  tx: SqlRunner,
  engine: DatabaseEngine,
  tenantId: string,
  selector: AccountSelector,
  references: References,
): Promise<LockedAccounts> {
  const which =
    "holdersOfHolds" in selector
      ? batchAccounts(tenantId, selector.ids, selector.holdersOfHolds)
      : "ids" in selector
        ? sql`id IN (${join([...new Set(selector.ids)])})`
        : "holderOfHold" in selector
          ? sql`id = (SELECT h.account_id FROM credit_hold h WHERE h.id = ${selector.holderOfHold} AND h.tenant_id = ${tenantId})`
          : sql`id = (SELECT g.account_id FROM credit_grant g WHERE g.id = ${selector.holderOfGrant} AND g.tenant_id = ${tenantId})`;
  const checks = referenceChecks(tenantId, references);
  const rows = await tx.query<CreditAccount & { storeFound?: unknown; partnerFound?: unknown }>(
    engine === "postgres"
      ? sql`SELECT *${checks} FROM credit_account WHERE tenant_id = ${tenantId} AND ${which} ORDER BY id FOR UPDATE`
      : sql`UPDATE credit_account SET entry_count = entry_count WHERE tenant_id = ${tenantId} AND ${which} RETURNING *${checks}`,
  );
  const first = rows[0];
  const found = (given: string | null, value: unknown) =>
    given === null ? true : first === undefined ? null : truthy(value);
  return {
    rows: rows.map(({ storeFound: _store, partnerFound: _partner, ...row }) => row as CreditAccount),
    storeFound: found(references.storeId, first?.storeFound),
    partnerFound: found(references.partnerId, first?.partnerFound),
  };
}

/** The condition for a batch's accounts (see AccountSelector); either list may be empty, not both. */
function batchAccounts(tenantId: string, ids: readonly string[], holdIds: readonly string[]): Sql {
  const named = ids.length > 0 ? [sql`id IN (${join([...new Set(ids)])})`] : [];
  const holders =
    holdIds.length > 0
      ? [
          sql`id IN (SELECT h.account_id FROM credit_hold h WHERE h.id IN (${join([...new Set(holdIds)])}) AND h.tenant_id = ${tenantId})`,
        ]
      : [];
  return sql`(${join([...named, ...holders], " OR ")})`;
}

/** Whether the store and partner are the tenant's, for a refusal that came before any account was locked. */
export async function findReferences(
  tx: SqlRunner,
  tenantId: string,
  references: References,
): Promise<{ storeFound: boolean; partnerFound: boolean }> {
  const [row] = await tx.query<{ storeFound?: unknown; partnerFound?: unknown }>(
    sql`SELECT 1 AS one${referenceChecks(tenantId, references)}`,
  );
  return {
    storeFound: references.storeId === null || truthy(row?.storeFound),
    partnerFound: references.partnerId === null || truthy(row?.partnerFound),
  };
}

function referenceChecks(tenantId: string, references: References): Sql {
  const store =
    references.storeId === null
      ? empty
      : sql`, EXISTS (SELECT 1 FROM store s WHERE s.id = ${references.storeId} AND s.tenant_id = ${tenantId}) AS store_found`;
  const partner =
    references.partnerId === null
      ? empty
      : sql`, EXISTS (SELECT 1 FROM partner p WHERE p.id = ${references.partnerId} AND p.tenant_id = ${tenantId}) AS partner_found`;
  return sql`${store}${partner}`;
}

export interface BalanceUpdate {
  accountId: string;
  balance: bigint;
  entryCount: number;
  /** The entry count read under the lock. */
  lockedEntryCount: number;
  /** Credits reserved by the account's pending holds. */
  held: bigint;
  /** Credits of the account's scheduled grants. */
  scheduled: bigint;
}

/** The grant columns writeBalances reads (see its `newGrants`). */
export const grantColumns = [
  "account_id",
  "remaining_amount",
  "scheduled_amount",
  "expires_at",
  "voided_at",
  "effective_at",
];

/**
 * Writes the new balances and entry counts of the accounts in one statement, which also asserts, row by row:
 *   - the entry count is still the one read under the lock (so a lost lock could never silently overwrite
 *     another writer's balance);
 *   - the account's grants hold exactly max(balance, 0);
 * and sets next_lapse_at to the earliest lapse among the grants that still hold credits, the pending holds
 * (a hold's expiry, like a grant's, must be recorded before a read shows the account) and the scheduled grants
 * (whose deposits must be recorded, at their effective times, before a read shows the account). Returns the accounts
 * it updated, as the transaction leaves them: fewer than given means an assertion failed (see
 * `explainFailedUpdate`).
 */
export async function writeBalances(
  tx: SqlRunner,
  updates: readonly BalanceUpdate[],
  now: Date,
  /** INSERTs to send in the same statement (see insertsAsCommonTableExpressions). */
  before: Sql = empty,
  /**
   * The part of `before` that inserts grants, if any (returning `grantColumns`): the statement does not see
   * them in credit_grant, so it counts them from what the part returns.
   */
  newGrants: string | null = null,
): Promise<CreditAccount[]> {
  const grants =
    newGrants === null
      ? raw("credit_grant")
      : raw(
          `(SELECT ${grantColumns.join(", ")} FROM credit_grant UNION ALL SELECT ${grantColumns.join(", ")} FROM ${newGrants})`,
        );
  const ids = updates.map((update) => update.accountId);
  const byId = <V extends bigint | number>(value: (update: BalanceUpdate) => V) =>
    new Map(updates.map((update) => [update.accountId, value(update)]));
  return tx.query<CreditAccount>(sql`${before}
    UPDATE credit_account SET
      balance = ${valueById(
        byId((update) => update.balance),
        "BIGINT",
      )},
      entry_count = ${valueById(
        byId((update) => update.entryCount),
        "INTEGER",
      )},
      held = ${valueById(
        byId((update) => update.held),
        "BIGINT",
      )},
      scheduled = ${valueById(
        byId((update) => update.scheduled),
        "BIGINT",
      )},
      next_lapse_at = (
        SELECT MIN(lapse) FROM (
          SELECT MIN(COALESCE(g.voided_at, g.expires_at)) AS lapse FROM ${grants} g
          WHERE g.account_id = credit_account.id AND g.remaining_amount > 0
          UNION ALL
          SELECT MIN(h.expires_at) AS lapse FROM credit_hold h
          WHERE h.account_id = credit_account.id AND h.state = ${"PENDING"}
          UNION ALL
          SELECT MIN(g.effective_at) AS lapse FROM ${grants} g
          WHERE g.account_id = credit_account.id AND g.scheduled_amount > 0
        ) AS lapses
      ),
      updated_at = ${now}
    WHERE id IN (${join(ids)})
      AND entry_count = ${valueById(
        byId((update) => update.lockedEntryCount),
        "INTEGER",
      )}
      AND (
        SELECT COALESCE(SUM(g.remaining_amount), 0) FROM ${grants} g
        WHERE g.account_id = credit_account.id AND g.remaining_amount > 0
      ) = ${valueById(
        byId((update) => (update.balance > 0n ? update.balance : 0n)),
        "BIGINT",
      )}
    RETURNING *`);
}

/** Which assertion of `writeBalances` failed, for the message of the bug it reveals (never on a normal path). */
export async function explainFailedUpdate(tx: SqlRunner, updates: readonly BalanceUpdate[]): Promise<string> {
  const rows = await tx.query<{ id: string; entryCount: number; held: bigint | null }>(sql`
    SELECT a.id, a.entry_count,
      (SELECT SUM(g.remaining_amount) FROM credit_grant g WHERE g.account_id = a.id AND g.remaining_amount > 0) AS held
    FROM credit_account a WHERE a.id IN (${join(updates.map((update) => update.accountId))})`);
  const problems = updates.flatMap((update) => {
    const row = rows.find((candidate) => candidate.id === update.accountId);
    if (!row) return [`account ${update.accountId} is gone`];
    const held = BigInt(row.held ?? 0n);
    const positive = update.balance > 0n ? update.balance : 0n;
    if (Number(row.entryCount) !== update.lockedEntryCount) return [`account ${update.accountId} changed while locked`];
    if (held !== positive)
      return [`grants of account ${update.accountId} hold ${held}, its balance is ${update.balance}`];
    return [];
  });
  return problems.join("; ") || "the balance update matched fewer accounts than it should";
}
