// Batched reads of the ledger's rows by id or by parent, one statement per call, for the API's loaders.
//
// Each function takes many keys at once (DataLoader hands them over per tick) and answers with the rows of
// the tenant only: another tenant's id finds nothing, exactly like an id that does not exist. Rows have the
// Prisma models' shape (see src/db/sql.ts). They are plain SQL through the driver adapter because these run
// on every nested read, where the Prisma client's per-call cost was most of the request's CPU.
//
// Accounts are never shown stale: `accounts` and `accountsOfCustomers` compare each account's
// `next_lapse_at` with the moment of the read, and when an expiry is due they record it (through `settle`)
// and read the account again. Reads that do not touch balances (actions, stores...) need no such check.
import type { Database } from "../db/client.ts";
import { inTextList, raw, sql } from "../db/sql.ts";
import type {
  CreditAccount,
  CreditAction,
  CreditAllocation,
  CreditEntry,
  CreditGrant,
  CreditHold,
  Customer,
  Partner,
  Store,
} from "../generated/postgres/client.ts";

/** Records the expirations due by `asOf` on these accounts (the ledger's settleDue). */
export type Settle = (accountIds: string[]) => Promise<void>;

export function customersById(database: Database, tenantId: string, ids: readonly string[]): Promise<Customer[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return database.reader.query<Customer>(
    sql`SELECT * FROM customer WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("id"), ids)}`,
  );
}

export function customersByExternalId(
  database: Database,
  tenantId: string,
  externalIds: readonly string[],
): Promise<Customer[]> {
  if (externalIds.length === 0) return Promise.resolve([]);
  return database.reader.query<Customer>(
    sql`SELECT * FROM customer WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("external_id"), externalIds)}`,
  );
}

/** Accounts by id, with every expiry due by `asOf` recorded first. */
export async function accounts(
  database: Database,
  tenantId: string,
  ids: readonly string[],
  asOf: Date,
  settle: Settle,
): Promise<CreditAccount[]> {
  if (ids.length === 0) return [];
  const read = () =>
    database.reader.query<CreditAccount>(
      sql`SELECT * FROM credit_account WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("id"), ids)}`,
    );
  return settledAccounts(await read(), asOf, settle, read);
}

/** The accounts of each customer, oldest first, with every expiry due by `asOf` recorded first. */
export async function accountsOfCustomers(
  database: Database,
  tenantId: string,
  customerIds: readonly string[],
  asOf: Date,
  settle: Settle,
): Promise<CreditAccount[]> {
  if (customerIds.length === 0) return [];
  const read = () =>
    database.reader.query<CreditAccount>(sql`
      SELECT * FROM credit_account WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("customer_id"), customerIds)}
      ORDER BY created_at, id`);
  return settledAccounts(await read(), asOf, settle, read);
}

/** The rows as they are once the expiries due among them are recorded: read again only when one was due. */
async function settledAccounts(
  rows: CreditAccount[],
  asOf: Date,
  settle: Settle,
  readAgain: () => Promise<CreditAccount[]>,
): Promise<CreditAccount[]> {
  const due = rows.filter((account) => isLapseDue(account, asOf)).map((account) => account.id);
  if (due.length === 0) return rows;
  await settle(due);
  return readAgain();
}

/** Whether a grant of the account has lapsed by `asOf` without its expiration recorded yet. */
export function isLapseDue(account: Pick<CreditAccount, "nextLapseAt">, asOf: Date): boolean {
  return account.nextLapseAt !== null && account.nextLapseAt.getTime() <= asOf.getTime();
}

export function actionsById(database: Database, tenantId: string, ids: readonly string[]): Promise<CreditAction[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return database.reader.query<CreditAction>(
    sql`SELECT * FROM credit_action WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("id"), ids)}`,
  );
}

/** The reversals of these actions (at most one each). */
export function reversalsOf(
  database: Database,
  tenantId: string,
  actionIds: readonly string[],
): Promise<CreditAction[]> {
  if (actionIds.length === 0) return Promise.resolve([]);
  return database.reader.query<CreditAction>(
    sql`SELECT * FROM credit_action WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("reverses_action_id"), actionIds)}`,
  );
}

export function entriesOfActions(
  database: Database,
  tenantId: string,
  actionIds: readonly string[],
): Promise<CreditEntry[]> {
  if (actionIds.length === 0) return Promise.resolve([]);
  return database.reader.query<CreditEntry>(
    sql`SELECT * FROM credit_entry WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("action_id"), actionIds)} ORDER BY action_id, sequence, id`,
  );
}

/** Allocations of these actions, by grant id (allocations carry no tenant: the action's is checked). */
export function allocationsOfActions(
  database: Database,
  tenantId: string,
  actionIds: readonly string[],
): Promise<CreditAllocation[]> {
  if (actionIds.length === 0) return Promise.resolve([]);
  return database.reader.query<CreditAllocation>(sql`
    SELECT al.* FROM credit_allocation al JOIN credit_action a ON a.id = al.action_id
    WHERE a.tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("al.action_id"), actionIds)}
    ORDER BY al.grant_id`);
}

/** All grants of these accounts, oldest first. Settle the accounts first (see `accounts`) for current amounts. */
export function grantsOfAccounts(
  database: Database,
  tenantId: string,
  accountIds: readonly string[],
): Promise<CreditGrant[]> {
  if (accountIds.length === 0) return Promise.resolve([]);
  return database.reader.query<CreditGrant>(sql`
    SELECT * FROM credit_grant WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("account_id"), accountIds)}
    ORDER BY created_at, id`);
}

export function grantsById(database: Database, tenantId: string, ids: readonly string[]): Promise<CreditGrant[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return database.reader.query<CreditGrant>(
    sql`SELECT * FROM credit_grant WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("id"), ids)}`,
  );
}

/**
 * Holds by id, never stale: a pending hold past its expiry at `asOf` has its expiry recorded (through `settle`,
 * on its account) and is read again.
 */
export async function holds(
  database: Database,
  tenantId: string,
  ids: readonly string[],
  asOf: Date,
  settle: Settle,
): Promise<CreditHold[]> {
  if (ids.length === 0) return [];
  const read = () =>
    database.reader.query<CreditHold>(
      sql`SELECT * FROM credit_hold WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("id"), ids)}`,
    );
  const rows = await read();
  const due = rows.filter(
    (hold) => hold.state === "PENDING" && hold.expiresAt !== null && hold.expiresAt.getTime() <= asOf.getTime(),
  );
  if (due.length === 0) return rows;
  await settle([...new Set(due.map((hold) => hold.accountId))]);
  return read();
}

/** All holds of these accounts, newest first. Settle the accounts first (see `accounts`) for current states. */
export function holdsOfAccounts(
  database: Database,
  tenantId: string,
  accountIds: readonly string[],
): Promise<CreditHold[]> {
  if (accountIds.length === 0) return Promise.resolve([]);
  return database.reader.query<CreditHold>(sql`
    SELECT * FROM credit_hold WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("account_id"), accountIds)}
    ORDER BY created_at DESC, id DESC`);
}

/** The actions of these holds (their transitions), oldest first. */
export function actionsOfHolds(
  database: Database,
  tenantId: string,
  holdIds: readonly string[],
): Promise<CreditAction[]> {
  if (holdIds.length === 0) return Promise.resolve([]);
  return database.reader.query<CreditAction>(sql`
    SELECT * FROM credit_action WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("hold_id"), holdIds)}
    ORDER BY created_at, id`);
}

export function storesById(database: Database, tenantId: string, ids: readonly string[]): Promise<Store[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return database.reader.query<Store>(
    sql`SELECT * FROM store WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("id"), ids)}`,
  );
}

export function partnersById(database: Database, tenantId: string, ids: readonly string[]): Promise<Partner[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return database.reader.query<Partner>(
    sql`SELECT * FROM partner WHERE tenant_id = ${tenantId} AND ${inTextList(database.engine, raw("id"), ids)}`,
  );
}
