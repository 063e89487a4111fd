// Balance reads. Every read first settles the grants that have expired by now (see `settleDue`), so a balance
// shown is never stale, whether or not the background expiry job has run yet.
import type { CreditAccount } from "../generated/postgres/client.ts";
import { join, sql } from "../db/sql.ts";
import { int64Max, maxBigInt, minBigInt } from "./amounts.ts";
import { earliestTime, latestTime } from "./history/cursors.ts";
import { exactSum, signedHigh, signedLow } from "./sql/exact-sums.ts";
import type { LedgerDependencies } from "./operations/money-write.ts";
import { failure, isFailure, type LedgerResult } from "./result.ts";
import { rollback, runWrite } from "./transaction.ts";
import { WriteSession } from "./write-session.ts";

/** Accounts settled per transaction: bounded so that one read never holds many locks for long. */
const settleBatchSize = 50;
/** Accounts settled per call: the background job takes the rest on its next round. */
const settleCallLimit = 1000;

/**
 * Records the expirations of every grant that has expired by now and still holds credits, for the given
 * accounts (or the whole tenant, or every tenant). Returns how many accounts it settled. Cheap when nothing is
 * due: one indexed query on the accounts' next_lapse_at, which every write keeps.
 */
export async function settleDue(
  deps: LedgerDependencies,
  scope: { tenantId?: string; accountIds?: readonly string[]; customerIds?: readonly string[] } = {},
): Promise<number> {
  const now = deps.clock();
  if (scope.accountIds?.length === 0 || scope.customerIds?.length === 0) return 0;
  const conditions = [sql`next_lapse_at <= ${now}`];
  if (scope.tenantId) conditions.push(sql`tenant_id = ${scope.tenantId}`);
  if (scope.accountIds) conditions.push(sql`id IN (${join([...scope.accountIds])})`);
  if (scope.customerIds) conditions.push(sql`customer_id IN (${join([...scope.customerIds])})`);
  const due = await deps.database.reader.query<{ id: string; tenantId: string }>(
    sql`SELECT id, tenant_id FROM credit_account WHERE ${join(conditions, " AND ")} LIMIT ${settleCallLimit}`,
  );
  for (let start = 0; start < due.length; start += settleBatchSize) {
    const batch = due.slice(start, start + settleBatchSize);
    const byTenant = new Map<string, string[]>();
    for (const row of batch) byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row.id]);
    for (const [tenantId, accountIds] of byTenant) {
      const result = await runWrite(deps.database, deps.transactions, async (tx) => {
        const session = new WriteSession(tx, deps.database.engine, tenantId, now);
        const problem = await session.lock(accountIds.map((id) => ({ id, field: "accountId" })));
        if (problem) rollback(problem);
        // Another writer may have settled them meanwhile: the locked rows say what is still due.
        await session.settleDueGrants(accountIds);
        await session.finish();
      });
      // Busy accounts are settled by whichever writer holds them (every write settles first) or next round.
      if (isFailure(result) && result.error.code !== "LEDGER_BUSY") throw new Error(result.error.message);
    }
  }
  return due.length;
}

export interface AccountBalance {
  account: CreditAccount;
  /** All credits on the account (negative when overdrawn). */
  balance: bigint;
  /**
   * What a reduction could take now: the balance plus the unused overdraft, less what pending holds reserve;
   * zero for a closed account.
   */
  available: bigint;
}

/** Current balances of the tenant's accounts, in the order asked; null for an id that is not the tenant's. */
export async function accountBalances(
  deps: LedgerDependencies,
  tenantId: string,
  accountIds: readonly string[],
): Promise<(AccountBalance | null)[]> {
  await settleDue(deps, { tenantId, accountIds });
  const accounts = await deps.database.read.creditAccount.findMany({
    where: { tenantId, id: { in: [...accountIds] } },
  });
  const byId = new Map(accounts.map((account) => [account.id, account]));
  return accountIds.map((id) => {
    const account = byId.get(id);
    return account ? balanceOf(account) : null;
  });
}

export function balanceOf(account: CreditAccount): AccountBalance {
  // At most the 64-bit maximum, like every figure of one account (the Amount scalar's promise): a balance
  // and an overdraft limit near it could add up to more, and no write could take more than the maximum.
  const available =
    account.status === "OPEN"
      ? minBigInt(maxBigInt(account.balance + account.overdraftLimit - account.held, 0n), int64Max)
      : 0n;
  return { account, balance: account.balance, available };
}

/**
 * The account's balance at a moment: the sum of its entries effective at or before it. For a moment still to
 * come, a projection: credits that expire by then are already taken off, and scheduled deposits effective by
 * then are added (see projectedBalance).
 */
export async function balanceAt(
  deps: LedgerDependencies,
  tenantId: string,
  accountId: string,
  at: Date,
): Promise<LedgerResult<{ balance: bigint; at: Date }>> {
  const account = await deps.database.read.creditAccount.findFirst({
    where: { id: accountId, tenantId },
    select: { id: true },
  });
  if (!account)
    return failure("ACCOUNT_NOT_FOUND", "accountId", "No credit account with this id exists.", { id: accountId });
  await settleDue(deps, { tenantId, accountIds: [accountId] });
  let balance = await sumOfEntries(deps, accountId, at);
  if (at > deps.clock()) balance = await projectedBalance(deps, accountId, balance, at);
  return { ok: true, balance, at };
}

/**
 * The account's entries effective at or before `at`, credits minus debits, summed exactly on both engines
 * (an account's credits in all may pass the 64-bit range: see sql/exact-sums.ts).
 */
async function sumOfEntries(deps: LedgerDependencies, accountId: string, at: Date): Promise<bigint> {
  // Every stored time lies in the years 1970 to 9999 (checkDate in validation.ts); bound to that range,
  // SQLite's comparison of the times' text stays exact.
  if (at.getTime() < earliestTime) return 0n;
  const until = new Date(Math.min(at.getTime(), latestTime));
  const [row] = await deps.database.reader.query<{ high: unknown; low: unknown }>(sql`
    SELECT SUM(${signedHigh}) AS high, SUM(${signedLow}) AS low
    FROM credit_entry WHERE account_id = ${accountId} AND effective_at <= ${until}`);
  return exactSum(row?.high, row?.low);
}

/**
 * The balance at a moment still to come, from the balance now, if nothing but what is already known happens
 * by then: the grants that will have expired (of their credits, what they hold now) are taken off, and the
 * scheduled deposits that will have taken effect are added, each repaying an overdraft first as it will, and
 * expiring in turn if its own expiry comes by then (taking only what it received). One statement, for grants
 * that hold credits and expire by then, or are scheduled to take effect by then.
 */
async function projectedBalance(
  deps: LedgerDependencies,
  accountId: string,
  balanceNow: bigint,
  at: Date,
): Promise<bigint> {
  const grants = await deps.database.read.creditGrant.findMany({
    where: {
      accountId,
      OR: [
        { remainingAmount: { gt: 0n }, expiresAt: { lte: at } },
        { scheduledAmount: { gt: 0n }, effectiveAt: { lte: at } },
      ],
    },
    select: { id: true, remainingAmount: true, scheduledAmount: true, effectiveAt: true, expiresAt: true },
  });
  // Events in time order; at one moment, deposits before expiries (a grant's expiry is after its effective time).
  const events: { time: number; order: number; apply: () => void }[] = [];
  let balance = balanceNow;
  const held = new Map(grants.map((grant) => [grant.id, grant.remainingAmount]));
  for (const grant of grants) {
    if (grant.scheduledAmount > 0n) {
      events.push({
        time: grant.effectiveAt.getTime(),
        order: 0,
        apply: () => {
          const repaid = minBigInt(grant.scheduledAmount, maxBigInt(0n, -balance));
          held.set(grant.id, grant.scheduledAmount - repaid);
          balance += grant.scheduledAmount;
        },
      });
    }
    if (grant.expiresAt !== null && grant.expiresAt <= at) {
      events.push({
        time: grant.expiresAt.getTime(),
        order: 1,
        apply: () => {
          balance -= held.get(grant.id) ?? 0n;
          held.set(grant.id, 0n);
        },
      });
    }
  }
  events.sort((a, b) => a.time - b.time || a.order - b.order);
  for (const event of events) event.apply();
  return balance;
}

export interface CurrencyTotal {
  currency: string;
  balance: bigint;
  available: bigint;
  /** Credits of scheduled grants, not yet in the balance. */
  scheduled: bigint;
  accountCount: number;
}

/** A customer's totals per currency over all its accounts (closed accounts count, holding zero). */
export async function customerBalances(
  deps: LedgerDependencies,
  tenantId: string,
  customerId: string,
): Promise<LedgerResult<{ totals: CurrencyTotal[] }>> {
  const customer = await deps.database.read.customer.findFirst({
    where: { id: customerId, tenantId },
    select: { id: true },
  });
  if (!customer)
    return failure("CUSTOMER_NOT_FOUND", "customerId", "No customer with this id exists.", { id: customerId });
  const ids = await deps.database.read.creditAccount.findMany({ where: { customerId }, select: { id: true } });
  const balances = await accountBalances(
    deps,
    tenantId,
    ids.map((row) => row.id),
  );
  return { ok: true, totals: currencyTotals(balances.flatMap((entry) => (entry ? [entry.account] : []))) };
}

/**
 * Totals per currency over accounts whose balances are current (settled), sorted by currency. The API
 * calls it on the accounts its loaders already hold, so totals cost no query of their own.
 */
export function currencyTotals(accounts: readonly CreditAccount[]): CurrencyTotal[] {
  const totals = new Map<string, CurrencyTotal>();
  for (const account of accounts) {
    const { balance, available } = balanceOf(account);
    const total = totals.get(account.currency) ?? {
      currency: account.currency,
      balance: 0n,
      available: 0n,
      scheduled: 0n,
      accountCount: 0,
    };
    total.balance += balance;
    total.available += available;
    total.scheduled += account.scheduled;
    total.accountCount += 1;
    totals.set(account.currency, total);
  }
  return [...totals.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1));
}
