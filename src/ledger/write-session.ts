// The write path shared by every money-moving operation, inside one database transaction.
//
// A session locks the accounts an operation touches, keeps their balances in memory, and records actions
// with their entries (one per account touched) and allocations (one per grant touched). Grants are read in
// spending order only as far as a debit needs and written through at once, so a write costs the same on an
// account with ten grants as on one with ten thousand.
//
// Invariants maintained and asserted here:
//   - an account's balance moves only through entries, and each entry chains balanceBefore to the previous
//     entry's balanceAfter (sequence numbers 1, 2, 3... per account, unique in the database);
//   - the remaining credits of an account's grants add up to max(balance, 0): a debit spends grants before
//     it overdraws, and a credit repays an overdraft before it fills grants (checked again at the end);
//   - balances stay within int64 and a debit never passes the overdraft limit.
// A violated assertion throws (a bug), which rolls the whole transaction back.
import type { Database, TransactionClient } from "../db/client.ts";
import type { CreditAccount, CreditAction, CreditEntry, CreditGrant } from "../generated/postgres/client.ts";
import type { ActionType, EntryDirection, GrantCategory } from "../generated/postgres/enums.ts";
import { int64Max, maxBigInt, minBigInt } from "./amounts.ts";
import { failure, type LedgerFailure } from "./result.ts";
import { lockAccounts } from "./transaction.ts";
import { foldForSearch, type CheckedWriteOptions } from "./validation.ts";

interface AccountState {
  row: CreditAccount;
  balance: bigint;
  entryCount: number;
  /** entryCount when locked, to assert nobody else wrote meanwhile. */
  lockedEntryCount: number;
}

/** The properties of a grant to create. */
export interface GrantSpec {
  name: string | null;
  category: GrantCategory;
  priority: number;
  expiresAt: Date | null;
  externalReference: string | null;
}

/** A part of a credit: back into an existing grant, or into a new one. */
export type CreditLot = { grant: CreditGrant; amount: bigint } | { spec: GrantSpec; amount: bigint };

export interface ActionDraft {
  type: ActionType;
  amount: bigint;
  currency: string;
  sourceAccountId: string | null;
  targetAccountId: string | null;
  grantId?: string | null;
  reversesActionId?: string | null;
  requestHash?: string | null;
  effectiveAt: Date;
  options: Omit<CheckedWriteOptions, "effectiveAt" | "requestedEffectiveAt">;
}

export interface Debit {
  entry: CreditEntry;
  /** What each grant gave, in spending order. */
  consumed: { grant: CreditGrant; amount: bigint }[];
  /** The part no grant covered: taken from the overdraft. */
  overdrawn: bigint;
}

export interface Credit {
  entry: CreditEntry;
  /** Grants created by this credit. */
  createdGrants: CreditGrant[];
}

const grantPageSize = 100;

export class WriteSession {
  private readonly accounts = new Map<string, AccountState>();
  /** Actions the ledger recorded by itself in this session (expirations and voids settled on the way). */
  readonly settled: CreditAction[] = [];

  constructor(
    readonly tx: TransactionClient,
    readonly engine: Database["engine"],
    readonly tenantId: string,
    readonly now: Date,
  ) {}

  /**
   * Locks and loads the accounts. Returns ACCOUNT_NOT_FOUND (naming the field) for an id that is not an
   * account of this tenant: another tenant's account is indistinguishable from a missing one.
   */
  async lock(accounts: { id: string; field: string }[]): Promise<LedgerFailure | null> {
    const found = await lockAccounts(this.tx, this.engine, this.tenantId, accounts.map((account) => account.id));
    const missing = accounts.find((account) => !found.has(account.id));
    if (missing) {
      return failure("ACCOUNT_NOT_FOUND", missing.field, "No credit account with this id exists.", { id: missing.id });
    }
    const rows = await this.tx.creditAccount.findMany({ where: { id: { in: [...found] } } });
    for (const row of rows) {
      this.accounts.set(row.id, { row, balance: row.balance, entryCount: row.entryCount, lockedEntryCount: row.entryCount });
    }
    return null;
  }

  account(accountId: string): CreditAccount {
    return this.state(accountId).row;
  }

  balance(accountId: string): bigint {
    return this.state(accountId).balance;
  }

  private state(accountId: string): AccountState {
    const state = this.accounts.get(accountId);
    if (!state) throw new Error(`Bug: account ${accountId} used without being locked first.`);
    return state;
  }

  /** INSUFFICIENT_CREDITS if taking `amount` would pass the account's overdraft limit, else null. */
  checkDebit(accountId: string, amount: bigint, field = "amount"): LedgerFailure | null {
    const state = this.state(accountId);
    if (state.balance - amount >= -state.row.overdraftLimit) return null;
    const available = maxBigInt(state.balance + state.row.overdraftLimit, 0n);
    return failure(
      "INSUFFICIENT_CREDITS",
      field,
      `The account has ${available} ${state.row.currency} available; ${amount} were requested.`,
      { available: available.toString(), requested: amount.toString(), currency: state.row.currency },
    );
  }

  /** BALANCE_OUT_OF_RANGE if adding `amount` would pass the 64-bit range, else null. */
  checkCredit(accountId: string, amount: bigint, field = "amount"): LedgerFailure | null {
    const state = this.state(accountId);
    if (state.balance + amount <= int64Max) return null;
    return failure(
      "BALANCE_OUT_OF_RANGE",
      field,
      `The balance would exceed the largest amount the ledger can hold (${int64Max}).`,
      { balance: state.balance.toString(), amount: amount.toString(), max: int64Max.toString() },
    );
  }

  /**
   * Records an expiration (or void) for every grant of these accounts that still holds credits but has
   * expired by now (or was voided). Every write calls it right after locking, so no operation ever spends an
   * expired credit; reads reach it through `settleDue`, so no balance shown is stale. `notBefore` raises the
   * effective time, for credits that a reversal has just returned to a grant that had already lapsed.
   */
  async settleClosedGrants(accountIds: string[], notBefore: Date | null = null): Promise<void> {
    const lapsed = await this.tx.creditGrant.findMany({
      where: {
        accountId: { in: accountIds },
        remainingAmount: { gt: 0n },
        OR: [{ expiresAt: { lte: this.now } }, { voidedAt: { not: null } }],
      },
      orderBy: [{ expiresAt: "asc" }, { id: "asc" }],
    });
    for (const grant of lapsed) {
      const voided = grant.voidedAt !== null;
      const closedAt = (voided ? grant.voidedAt : grant.expiresAt) as Date;
      const effectiveAt = notBefore && notBefore.getTime() > closedAt.getTime() ? notBefore : closedAt;
      const action = await this.beginAction({
        type: voided ? "VOID" : "EXPIRATION",
        amount: grant.remainingAmount,
        currency: this.account(grant.accountId).currency,
        sourceAccountId: grant.accountId,
        targetAccountId: null,
        grantId: grant.id,
        effectiveAt,
        options: systemOptions,
      });
      await this.debit(action, grant.accountId, grant.remainingAmount, { onlyGrantId: grant.id });
      this.settled.push(action);
    }
  }

  /** Inserts the action row; its entries and allocations follow through debit() and credit(). */
  async beginAction(draft: ActionDraft): Promise<CreditAction> {
    return this.tx.creditAction.create({
      data: {
        tenantId: this.tenantId,
        type: draft.type,
        amount: draft.amount,
        currency: draft.currency,
        sourceAccountId: draft.sourceAccountId,
        targetAccountId: draft.targetAccountId,
        grantId: draft.grantId ?? null,
        storeId: draft.options.storeId,
        partnerId: draft.options.partnerId,
        initiatorId: draft.options.initiator.id,
        initiatorType: draft.options.initiator.type,
        apiKeyId: draft.options.initiator.apiKeyId,
        note: draft.options.note,
        noteSearch: draft.options.note === null ? null : foldForSearch(draft.options.note),
        externalReference: draft.options.externalReference,
        idempotencyKey: draft.options.idempotencyKey,
        requestHash: draft.requestHash ?? null,
        reversesActionId: draft.reversesActionId ?? null,
        effectiveAt: draft.effectiveAt,
        createdAt: this.now,
        updatedAt: this.now,
      },
    });
  }

  /**
   * Takes `amount` from the account for the action: first the preferred grants (in the order given), then
   * the account's other grants by priority (lower first), soonest expiry, oldest effective time, then id.
   * The part no grant covers overdraws the account. Call checkDebit first: this asserts, it does not refuse.
   * `onlyGrantId` takes exactly that grant's credits (expirations and voids).
   */
  async debit(
    action: CreditAction,
    accountId: string,
    amount: bigint,
    options: { preferredGrantIds?: string[]; onlyGrantId?: string } = {},
  ): Promise<Debit> {
    const state = this.state(accountId);
    const balanceBefore = state.balance;
    const balanceAfter = balanceBefore - amount;
    if (!options.onlyGrantId && balanceAfter < -state.row.overdraftLimit) {
      throw new Error("Bug: debit past the overdraft limit was not refused by checkDebit.");
    }
    const consumed: Debit["consumed"] = [];
    let left = amount;
    const take = async (grant: CreditGrant) => {
      const part = minBigInt(grant.remainingAmount, left);
      if (part <= 0n) return;
      const updated = await this.tx.creditGrant.updateMany({
        where: { id: grant.id, accountId, remainingAmount: grant.remainingAmount },
        data: { remainingAmount: grant.remainingAmount - part, updatedAt: this.now },
      });
      if (updated.count !== 1) throw new Error(`Bug: grant ${grant.id} changed under the account lock.`);
      consumed.push({ grant, amount: part });
      left -= part;
    };

    const preferred = options.onlyGrantId ? [options.onlyGrantId] : (options.preferredGrantIds ?? []);
    if (preferred.length > 0) {
      const rows = await this.tx.creditGrant.findMany({
        where: { id: { in: preferred }, accountId, remainingAmount: { gt: 0n } },
      });
      for (const id of preferred) {
        const grant = rows.find((row) => row.id === id);
        if (grant && left > 0n) await take(grant);
      }
    }
    if (!options.onlyGrantId) {
      // Spend in order, a page at a time, until the amount is covered or the grants run out.
      while (left > 0n) {
        const page = await this.tx.creditGrant.findMany({
          where: { accountId, remainingAmount: { gt: 0n } },
          orderBy: [
            { priority: "asc" },
            { expiresAt: { sort: "asc", nulls: "last" } },
            { effectiveAt: "asc" },
            { id: "asc" },
          ],
          take: grantPageSize,
        });
        for (const grant of page) {
          if (left === 0n) break;
          await take(grant);
        }
        if (page.length < grantPageSize) break;
      }
    }
    // Grants hold max(balance, 0): they run dry exactly where the balance goes below zero.
    const expectedOverdrawn = maxBigInt(0n, -balanceAfter) - maxBigInt(0n, -balanceBefore);
    if (options.onlyGrantId ? left !== 0n : left !== expectedOverdrawn) {
      throw new Error(`Bug: grants of account ${accountId} do not add up to its balance.`);
    }
    if (consumed.length > 0) {
      await this.tx.creditAllocation.createMany({
        data: consumed.map((part) => ({ actionId: action.id, grantId: part.grant.id, direction: "DEBIT" as const, amount: part.amount })),
      });
    }
    const entry = await this.writeEntry(action, state, "DEBIT", amount, balanceAfter);
    return { entry, consumed, overdrawn: left };
  }

  /**
   * Adds `amount` to the account through the given lots (which add up to `amount`): an overdraft is repaid
   * first, from the first lots, and the rest fills the lots. New lots always create their grant, even when
   * the repayment left it empty, so that a deposit always has its grant. Call checkCredit first.
   */
  async credit(action: CreditAction, accountId: string, lots: CreditLot[]): Promise<Credit> {
    const state = this.state(accountId);
    const amount = lots.reduce((sum, lot) => sum + lot.amount, 0n);
    if (amount !== action.amount) throw new Error("Bug: credit lots do not add up to the action's amount.");
    const balanceAfter = state.balance + amount;
    if (balanceAfter > int64Max) throw new Error("Bug: credit past the 64-bit range was not refused by checkCredit.");
    let toRepay = minBigInt(amount, maxBigInt(0n, -state.balance));
    const createdGrants: CreditGrant[] = [];
    const allocations: { actionId: string; grantId: string; direction: EntryDirection; amount: bigint }[] = [];
    for (const lot of lots) {
      const repay = minBigInt(lot.amount, toRepay);
      toRepay -= repay;
      const filled = lot.amount - repay;
      let grantId: string;
      if ("grant" in lot) {
        if (filled === 0n) continue;
        const current = await this.tx.creditGrant.findUniqueOrThrow({ where: { id: lot.grant.id } });
        if (current.accountId !== accountId) throw new Error("Bug: credit into another account's grant.");
        await this.tx.creditGrant.update({
          where: { id: current.id },
          data: { remainingAmount: current.remainingAmount + filled, updatedAt: this.now },
        });
        grantId = current.id;
      } else {
        const grant = await this.tx.creditGrant.create({
          data: {
            tenantId: this.tenantId,
            accountId,
            name: lot.spec.name,
            category: lot.spec.category,
            priority: lot.spec.priority,
            originalAmount: lot.amount,
            remainingAmount: filled,
            effectiveAt: action.effectiveAt,
            expiresAt: lot.spec.expiresAt,
            externalReference: lot.spec.externalReference,
            createdByActionId: action.id,
            createdAt: this.now,
            updatedAt: this.now,
          },
        });
        createdGrants.push(grant);
        grantId = grant.id;
      }
      if (filled > 0n) allocations.push({ actionId: action.id, grantId, direction: "CREDIT", amount: filled });
    }
    if (allocations.length > 0) await this.tx.creditAllocation.createMany({ data: allocations });
    const entry = await this.writeEntry(action, state, "CREDIT", amount, balanceAfter);
    return { entry, createdGrants };
  }

  private async writeEntry(
    action: CreditAction,
    state: AccountState,
    direction: EntryDirection,
    amount: bigint,
    balanceAfter: bigint,
  ): Promise<CreditEntry> {
    const balanceBefore = state.balance;
    state.balance = balanceAfter;
    state.entryCount += 1;
    return this.tx.creditEntry.create({
      data: {
        tenantId: this.tenantId,
        actionId: action.id,
        accountId: state.row.id,
        customerId: state.row.customerId,
        sequence: state.entryCount,
        direction,
        amount,
        balanceBefore,
        balanceAfter,
        type: action.type,
        currency: action.currency,
        storeId: action.storeId,
        partnerId: action.partnerId,
        initiatorType: action.initiatorType,
        effectiveAt: action.effectiveAt,
        createdAt: this.now,
      },
    });
  }

  /**
   * Writes the new balances, after asserting that each touched account's grants hold exactly its positive
   * balance. The update is conditional on the entry count read under the lock, so a lost lock could never
   * silently overwrite another writer's balance.
   */
  async finish(): Promise<void> {
    for (const [accountId, state] of this.accounts) {
      if (state.entryCount === state.lockedEntryCount) continue;
      const held = await this.tx.creditGrant.aggregate({
        where: { accountId, remainingAmount: { gt: 0n } },
        _sum: { remainingAmount: true },
        // Voids are settled in the transaction that records them, so only expiries remain to lapse.
        _min: { expiresAt: true },
      });
      const heldTotal = held._sum.remainingAmount ?? 0n;
      if (heldTotal !== maxBigInt(state.balance, 0n)) {
        throw new Error(`Bug: grants of account ${accountId} hold ${heldTotal}, its balance is ${state.balance}.`);
      }
      const updated = await this.tx.creditAccount.updateMany({
        where: { id: accountId, entryCount: state.lockedEntryCount },
        data: { balance: state.balance, entryCount: state.entryCount, nextLapseAt: held._min.expiresAt, updatedAt: this.now },
      });
      if (updated.count !== 1) throw new Error(`Bug: account ${accountId} changed while locked.`);
      state.lockedEntryCount = state.entryCount;
    }
  }
}

/** Options of the actions the ledger records by itself (expirations and voids). */
export const systemOptions: ActionDraft["options"] = {
  idempotencyKey: null,
  note: null,
  storeId: null,
  partnerId: null,
  externalReference: null,
  initiator: { type: "SYSTEM", id: null, apiKeyId: null },
};
