// The write path shared by every money-moving operation, inside one database transaction (raw SQL through
// the driver adapter, see src/ledger/transaction.ts).
//
// A session locks the accounts an operation touches, keeps their balances in memory, and records actions
// with their entries (one per account touched) and allocations (one per grant touched). Grants are read in
// spending order only as far as a debit needs and written through at once, so a write costs the same on an
// account with ten grants as on one with ten thousand. Entries and allocations wait in memory and are
// written by `finish()` in one multi-row INSERT each, followed by one UPDATE of all the touched accounts: the
// statements a write sends do not grow with the accounts, grants or expirations it touches. On PostgreSQL
// those INSERTs travel in the UPDATE's statement (data-modifying WITH parts), and a session that defers
// inserts (single writes' first attempts, batches) sends its actions with its next statement and its new
// grants with that final one: each round trip saved is one less while the accounts are locked.
//
// Invariants maintained and asserted here:
//   - an account's balance moves only through entries, and each entry chains balanceBefore to the previous
//     entry's balanceAfter (sequence numbers 1, 2, 3... per account, unique in the database);
//   - the remaining credits of an account's grants add up to max(balance, 0): a debit spends grants before
//     it overdraws, and a credit repays an overdraft before it fills grants (checked again by the final
//     UPDATE, which also keeps the account's next_lapse_at);
//   - balances stay within int64 and a debit never passes the overdraft limit;
//   - a scheduled deposit (effective later) writes no entry: its amount is kept in the account's `scheduled`
//     until its time has come, when its entry is recorded at that time (see settleScheduledGrants).
// A violated assertion throws (a bug), which rolls the whole transaction back.
import type { Database } from "../db/client.ts";
import { join, type Sql, sql, type SqlRunner } from "../db/sql.ts";
import type {
  CreditAccount,
  CreditAction,
  CreditAllocation,
  CreditEntry,
  CreditGrant,
} from "../generated/postgres/client.ts";
import type { ActionType, EntryDirection, GrantCategory } from "../generated/postgres/enums.ts";
import { int64Max, maxBigInt, minBigInt } from "./amounts.ts";
import { type CheckedExpectation, checkExpectation } from "./expectations.ts";
import { newId } from "./ids.ts";
import { failure, type LedgerFailure } from "./result.ts";
import {
  type AccountSelector,
  explainFailedUpdate,
  grantColumns,
  lockAccounts,
  type References,
  writeBalances,
} from "./sql/accounts.ts";
import { type PastBalances, pastBalances } from "./sql/backdated.ts";
import {
  cancelScheduledGrant,
  changeRemaining,
  lapsedGrants,
  type RemainingChange,
  spendingPage,
  takeDueScheduledGrants,
} from "./sql/grants.ts";
import { expireLapsedHolds } from "./sql/holds.ts";
import {
  insertRows,
  insertStatement,
  insertsAsCommonTableExpressions,
  withLeadingCommonTableExpression,
} from "./sql/rows.ts";
import { foldForSearch, type CheckedWriteOptions } from "./validation.ts";

interface AccountState {
  row: CreditAccount;
  balance: bigint;
  entryCount: number;
  /** entryCount when locked, to assert nobody else wrote meanwhile. */
  lockedEntryCount: number;
  /** Credits reserved by pending holds, kept like the balance (see holdCredits). */
  held: bigint;
  /** Credits of scheduled grants, not yet in the balance, kept like the balance (see scheduleDeposit). */
  scheduled: bigint;
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
  holdId?: string | null;
  reversesActionId?: string | null;
  /** For an expiry change: the grant's expiry before and after. */
  previousExpiresAt?: Date | null;
  newExpiresAt?: Date | null;
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

/** A deposit recorded now and effective later: its action (without an entry yet) and its scheduled grant. */
export interface ScheduledDeposit {
  action: CreditAction;
  grant: CreditGrant;
}

export interface Credit {
  entry: CreditEntry;
  /** Grants created by this credit. */
  createdGrants: CreditGrant[];
}

export interface SessionOptions {
  /**
   * Whether the session defers INSERTs (PostgreSQL only): an action's to the session's next statement (see
   * beginAction), a new grant's to the final balance UPDATE (see credit and finish).
   */
  deferInserts?: boolean;
}

/** Thrown by `beginAction` when the action's idempotency key is already taken (see money-write.ts). */
export class IdempotencyKeyTaken extends Error {
  constructor() {
    super("idempotency key taken");
  }
}

/** An allocation with the grant it concerns, as the write found it (or created it), for a dry run's answer. */
export interface RecordedAllocation {
  actionId: string;
  grant: CreditGrant;
  /** Whether this write creates the grant. */
  createsGrant: boolean;
  direction: EntryDirection;
  amount: bigint;
}

/** One side of a backdated write to check: the account, the amount and the input field a refusal names. */
export interface BackdatedSide {
  accountId: string;
  amount: bigint;
  field: string;
}

const grantPageSize = 100;

const noReferences: References = { storeId: null, partnerId: null };

export class WriteSession {
  private readonly accounts = new Map<string, AccountState>();
  /** Actions the ledger recorded by itself in this session (expirations and voids settled on the way). */
  readonly settled: CreditAction[] = [];
  /** Written by finish(), after the actions and grants they point to. */
  private readonly pendingAllocations: CreditAllocation[] = [];
  private readonly pendingEntries: CreditEntry[] = [];
  /**
   * Every entry and allocation this session recorded, in order, kept after they are written: a dry run (see
   * money-write.ts) answers from them, as its transaction is rolled back.
   */
  readonly recorded: { entries: CreditEntry[]; allocations: RecordedAllocation[] } = { entries: [], allocations: [] };
  /** Whether the store and partner of `references` were found to be the tenant's (by `lock`). */
  referencesChecked = false;

  /** The transaction every statement of the session goes through (carrying the deferred INSERTs). */
  readonly tx: SqlRunner;
  readonly engine: Database["engine"];
  readonly tenantId: string;
  readonly now: Date;
  readonly references: References;
  /** Actions begun but not written yet (see beginAction): they travel with the session's next statement. */
  private readonly pendingActions: CreditAction[] = [];
  /** Grants created but not written yet (see credit): they travel with the final statement (see finish). */
  private readonly pendingGrants: CreditGrant[] = [];
  private readonly defersInserts: boolean;

  constructor(
    tx: SqlRunner,
    engine: Database["engine"],
    tenantId: string,
    now: Date,
    references: References = noReferences,
    options: SessionOptions = {},
  ) {
    this.defersInserts = engine === "postgres" && options.deferInserts === true;
    this.tx = this.defersInserts ? this.carryingDeferredInserts(tx) : tx;
    this.engine = engine;
    this.tenantId = tenantId;
    this.now = now;
    this.references = references;
  }

  /**
   * A runner that puts the pending actions' INSERT in the WITH clause of the next statement it sends,
   * whatever that statement is (PostgreSQL runs data-modifying WITH parts exactly once, and checks foreign keys
   * at the end of the statement, so rows of that statement may point to the new actions). That statement does
   * not see the new actions, as no statement of a session reads the actions it begins. Pending grants are
   * written before any statement but the final one (which finish sends with them), so every other statement
   * sees them.
   */
  private carryingDeferredInserts(tx: SqlRunner): SqlRunner {
    const carry = (statement: Sql): Sql =>
      this.pendingActions.length === 0
        ? statement
        : withLeadingCommonTableExpression(
            "pending_actions",
            insertStatement("credit_action", this.pendingActions.splice(0)),
            statement,
          );
    const carrying: SqlRunner = {
      query: (statement) => tx.query(carry(statement)),
      execute: (statement) => tx.execute(carry(statement)),
    };
    const writeGrants = () => insertRows(carrying, "credit_grant", this.pendingGrants.splice(0));
    return {
      query: async (statement) => {
        if (this.pendingGrants.length > 0) await writeGrants();
        return carrying.query(statement);
      },
      execute: async (statement) => {
        if (this.pendingGrants.length > 0) await writeGrants();
        return carrying.execute(statement);
      },
    };
  }

  /**
   * Locks and loads the accounts; checks the store and partner in the same statement. Returns
   * STORE_NOT_FOUND or PARTNER_NOT_FOUND, then ACCOUNT_NOT_FOUND (naming the field) for an id that is not an
   * account of this tenant: another tenant's account is indistinguishable from a missing one.
   */
  async lock(accounts: { id: string; field: string }[]): Promise<LedgerFailure | null> {
    // A batch locks every account of its items up front (lockAll); an item then finds its accounts locked and
    // sends no statement (its store and partner are checked by the batch).
    if (accounts.length > 0 && accounts.every((account) => this.accounts.has(account.id))) return null;
    const problem = await this.lockWhere({ ids: accounts.map((account) => account.id) });
    if (problem.failure) return problem.failure;
    const missing = accounts.find((account) => !this.accounts.has(account.id));
    if (missing) {
      return failure("ACCOUNT_NOT_FOUND", missing.field, "No credit account with this id exists.", { id: missing.id });
    }
    return null;
  }

  /**
   * Locks and loads these accounts in one statement, in id order, without refusing missing ones: a batch (see
   * operations/batch.ts) locks every account its items touch before the first item runs, so that batches and
   * single writes take their locks in one order and cannot deadlock; each item's own `lock` then reports an
   * account that is missing or closed.
   */
  async lockAll(accountIds: string[], holdIds: string[] = []): Promise<void> {
    if (accountIds.length === 0 && holdIds.length === 0) return;
    const problem = await this.lockWhere({ ids: accountIds, holdersOfHolds: holdIds });
    if (problem.failure) throw new Error("Bug: a batch's lock checked a store or partner.");
  }

  /**
   * Locks and loads the account holding the grant and returns its id; GRANT_NOT_FOUND (naming the field) when
   * the grant is not the tenant's.
   */
  async lockHolderOfGrant(grantId: string, field: string): Promise<string | LedgerFailure> {
    const problem = await this.lockWhere({ holderOfGrant: grantId });
    if (problem.failure) return problem.failure;
    const [accountId] = problem.lockedIds;
    return accountId ?? failure("GRANT_NOT_FOUND", field, "No credit grant with this id exists.", { id: grantId });
  }

  /**
   * Locks and loads the account the hold is on and returns its id; HOLD_NOT_FOUND (naming the field) when the
   * hold is not the tenant's.
   */
  async lockHolderOfHold(holdId: string, field: string): Promise<string | LedgerFailure> {
    const problem = await this.lockWhere({ holderOfHold: holdId });
    if (problem.failure) return problem.failure;
    // The account this statement found, which a batch may have locked (and changed in memory) before.
    const [accountId] = problem.lockedIds;
    return accountId ?? failure("HOLD_NOT_FOUND", field, "No credit hold with this id exists.", { id: holdId });
  }

  private async lockWhere(selector: AccountSelector): Promise<{ failure: LedgerFailure | null; lockedIds: string[] }> {
    const locked = await lockAccounts(this.tx, this.engine, this.tenantId, selector, this.references);
    const lockedIds = locked.rows.map((row) => row.id);
    for (const row of locked.rows) {
      // An account locked before keeps its state: this session may have changed it in memory since.
      if (this.accounts.has(row.id)) continue;
      this.accounts.set(row.id, {
        row,
        balance: row.balance,
        entryCount: row.entryCount,
        lockedEntryCount: row.entryCount,
        held: row.held,
        scheduled: row.scheduled,
      });
    }
    if (locked.storeFound === null || locked.partnerFound === null) return { failure: null, lockedIds };
    this.referencesChecked = true;
    const { storeId, partnerId } = this.references;
    if (storeId !== null && !locked.storeFound) {
      const failed = failure("STORE_NOT_FOUND", "storeId", "No store with this id exists.", { id: storeId });
      return { failure: failed, lockedIds };
    }
    if (partnerId !== null && !locked.partnerFound) {
      const failed = failure("PARTNER_NOT_FOUND", "partnerId", "No partner with this id exists.", { id: partnerId });
      return { failure: failed, lockedIds };
    }
    return { failure: null, lockedIds };
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

  /** Credits of the account's scheduled grants, as this transaction leaves them so far. */
  scheduled(accountId: string): bigint {
    return this.state(accountId).scheduled;
  }

  /** Credits reserved by the account's pending holds, as this transaction leaves them so far. */
  held(accountId: string): bigint {
    return this.state(accountId).held;
  }

  /**
   * ACCOUNT_CHANGED unless the account is in the state the caller expected (see expectations.ts). Compared in
   * memory with what the lock read, after settling: it costs no statement.
   */
  checkExpected(accountId: string, expectation: CheckedExpectation | null): LedgerFailure | null {
    const state = this.state(accountId);
    return checkExpectation(expectation, accountId, {
      balance: state.balance,
      sequence: state.entryCount,
      held: state.held,
    });
  }

  /**
   * INSUFFICIENT_CREDITS if taking `amount` would pass the account's overdraft limit, or take credits that
   * pending holds reserve, else null. The same check refuses a hold (`authorize`) that asks for more than is
   * available, so holds and debits under one account lock never overdraw together.
   */
  checkDebit(accountId: string, amount: bigint, field = "amount"): LedgerFailure | null {
    const state = this.state(accountId);
    if (state.balance - amount - state.held >= -state.row.overdraftLimit) return null;
    const available = maxBigInt(state.balance + state.row.overdraftLimit - state.held, 0n);
    return failure(
      "INSUFFICIENT_CREDITS",
      field,
      `The account has ${available} ${state.row.currency} available; ${amount} ${amount === 1n ? "was" : "were"} requested.`,
      { available: available.toString(), requested: amount.toString(), currency: state.row.currency },
    );
  }

  /**
   * CREDITS_HELD if the change would leave the account's pending holds reserving more than its balance and
   * overdraft cover (`available` below zero), else null. For the writes that take credits away without
   * spending them, which checkDebit does not see: a void (`taken`: what the grant holds), an expiry moved
   * into the past (the grant expires at once), or a lower overdraft limit (`overdraftLimit`). A capture relies
   * on those credits, so they may not leave while a hold is pending; what the holds do not need may. Costs no
   * statement. (A grant that expires at its time cannot be refused: see capture in operations/holds.ts.)
   */
  checkHeldCovered(
    accountId: string,
    change: { taken?: bigint; overdraftLimit?: bigint },
    field: string,
  ): LedgerFailure | null {
    const state = this.state(accountId);
    if (state.held === 0n) return null;
    const covered = state.balance - (change.taken ?? 0n) + (change.overdraftLimit ?? state.row.overdraftLimit);
    if (covered >= state.held) return null;
    const shown = maxBigInt(covered, 0n);
    const currency = state.row.currency;
    return failure(
      "CREDITS_HELD",
      field,
      `Pending holds reserve ${state.held} ${currency} on the account; after this change its balance and overdraft would cover only ${shown} of them. Capture or release the holds first.`,
      { held: state.held.toString(), covered: shown.toString(), currency },
    );
  }

  /** Whether a write effective at this time changes the past: any effective time before now. */
  isBackdated(effectiveAt: Date): boolean {
    return effectiveAt.getTime() < this.now.getTime();
  }

  /**
   * For a debit effective before now (backdated): INSUFFICIENT_CREDITS, with the effective time, unless taking
   * `amount` then leaves the account valid at every moment from then on. That is, its balance stays within
   * the overdraft limit at every later moment, not only now; and the grants it spends were spendable at that
   * time (in effect, and neither expired nor voided), as a debit takes grants before it overdraws. Null for a
   * debit effective now (checkDebit covers it), which costs no statement.
   */
  async checkBackdatedDebit(
    accountId: string,
    amount: bigint,
    effectiveAt: Date,
    field = "amount",
  ): Promise<LedgerFailure | null> {
    return this.checkBackdated(effectiveAt, { debit: { accountId, amount, field } });
  }

  /**
   * checkBackdatedDebit for `debit` and checkBackdatedCredit for `credit` (a transfer's or reversal's two
   * sides), reading the past of both accounts in one statement; the debit's refusal first. Null for a write
   * effective now, which costs no statement.
   */
  async checkBackdated(
    effectiveAt: Date,
    sides: { debit?: BackdatedSide | null; credit?: BackdatedSide | null },
  ): Promise<LedgerFailure | null> {
    if (!this.isBackdated(effectiveAt)) return null;
    const { debit, credit } = sides;
    const accountIds = [debit?.accountId, credit?.accountId].filter((id): id is string => id !== undefined);
    if (accountIds.length === 0) return null;
    // Expirations settled in this transaction (and a batch's earlier items) are part of the past being checked.
    await this.writePending();
    const past = await pastBalances(this.tx, [...new Set(accountIds)], effectiveAt);
    const of = (accountId: string) => {
      const balances = past.get(accountId);
      if (!balances) throw new Error(`Bug: no past balances of account ${accountId}.`);
      return balances;
    };
    return (
      (debit ? this.backdatedDebitProblem(debit, of(debit.accountId), effectiveAt) : null) ??
      (credit ? this.backdatedCreditProblem(credit, of(credit.accountId), effectiveAt) : null)
    );
  }

  private backdatedDebitProblem(side: BackdatedSide, past: PastBalances, effectiveAt: Date): LedgerFailure | null {
    const { accountId, amount, field } = side;
    const state = this.state(accountId);
    const limit = state.row.overdraftLimit;
    // Within the limit at every moment from then on.
    const withinLimit = past.lowestFrom + limit;
    // From grants spendable then: a debit spends grants down to a zero balance before it overdraws.
    const fromGrants = state.balance > past.spendableAt ? past.spendableAt : state.balance + limit;
    const available = maxBigInt(0n, minBigInt(withinLimit, fromGrants));
    if (amount <= available) return null;
    return failure(
      "INSUFFICIENT_CREDITS",
      field,
      `At ${effectiveAt.toISOString()} the account has ${available} ${state.row.currency} available (keeping every later balance within its limit); ${amount} ${amount === 1n ? "was" : "were"} requested.`,
      {
        available: available.toString(),
        requested: amount.toString(),
        currency: state.row.currency,
        effectiveAt: effectiveAt.toISOString(),
      },
    );
  }

  /**
   * BALANCE_OUT_OF_RANGE if adding `amount` would pass the 64-bit range, else null. Scheduled credits count as
   * if they were in the balance already, so that a scheduled grant can always take effect.
   */
  checkCredit(accountId: string, amount: bigint, field = "amount"): LedgerFailure | null {
    const state = this.state(accountId);
    if (state.balance + state.scheduled + amount <= int64Max) return null;
    return failure(
      "BALANCE_OUT_OF_RANGE",
      field,
      `The balance would exceed the largest amount the ledger can hold (${int64Max}).`,
      { balance: state.balance.toString(), amount: amount.toString(), max: int64Max.toString() },
    );
  }

  /**
   * For a credit effective before now (backdated): BALANCE_OUT_OF_RANGE, with the effective time, if adding
   * `amount` then would take the balance at any moment from then on past the 64-bit range. checkCredit bounds
   * only the balance now, but a credit backdated before a debit adds to every balance between the two, which
   * may have been higher than the balance now. Null for a credit effective now or later (checkCredit covers
   * it), which costs no statement; a backdated credit pays for one, as a backdated debit does.
   */
  async checkBackdatedCredit(
    accountId: string,
    amount: bigint,
    effectiveAt: Date,
    field = "amount",
  ): Promise<LedgerFailure | null> {
    return this.checkBackdated(effectiveAt, { credit: { accountId, amount, field } });
  }

  private backdatedCreditProblem(side: BackdatedSide, past: PastBalances, effectiveAt: Date): LedgerFailure | null {
    const { amount, field } = side;
    if (past.highestFrom + amount <= int64Max) return null;
    return failure(
      "BALANCE_OUT_OF_RANGE",
      field,
      `At ${effectiveAt.toISOString()} or later the balance would exceed the largest amount the ledger can hold (${int64Max}): it reaches ${past.highestFrom} from then on, and ${amount} were to be added.`,
      {
        balance: past.highestFrom.toString(),
        amount: amount.toString(),
        max: int64Max.toString(),
        effectiveAt: effectiveAt.toISOString(),
      },
    );
  }

  /**
   * Settles the lapsed grants of those accounts whose next_lapse_at has come (see `settleClosedGrants`).
   * Every write calls it right after locking, so no operation ever spends an expired credit; reads reach it
   * through `settleDue`, so no balance shown is stale. The account row says whether anything is due, so when
   * nothing is, this costs no statement.
   */
  async settleDueGrants(accountIds: string[]): Promise<void> {
    const due = accountIds.filter((accountId) => {
      const nextLapseAt = this.account(accountId).nextLapseAt;
      return nextLapseAt !== null && nextLapseAt.getTime() <= this.now.getTime();
    });
    if (due.length === 0) return;
    // Scheduled deposits first: a scheduled grant whose expiry has come too then expires like any other.
    await this.settleScheduledGrants(due);
    await this.settleClosedGrants(due);
    await this.settleLapsedHolds(due);
  }

  /**
   * Records the entry of every scheduled deposit of these accounts whose effective time has come, at that
   * time: the deposit's action was recorded when it was scheduled, and its grant now receives its credits
   * (repaying an overdraft first, as any deposit does). The entry takes the account's next sequence number,
   * as a write recorded now and effective then (a backdated credit) would. Called with settleClosedGrants
   * whenever next_lapse_at (which covers scheduled effective times too) has come; the UPDATE that takes the
   * grants out of the scheduled state is conditional, so each takes effect exactly once, and never after a
   * void took it out first.
   */
  private async settleScheduledGrants(accountIds: string[]): Promise<void> {
    const due = await takeDueScheduledGrants(this.tx, accountIds, this.now);
    if (due.length === 0) return;
    const actions = await this.tx.query<CreditAction>(
      sql`SELECT * FROM credit_action WHERE id IN (${join(due.map((grant) => grant.createdByActionId))})`,
    );
    // As credit() would do for each, but with the grants' new amounts written in one statement for all of
    // them, so that the statements do not grow with the number of grants taking effect at once.
    const refills: RemainingChange[] = [];
    for (const grant of due) {
      const action = actions.find((candidate) => candidate.id === grant.createdByActionId);
      const amount = grant.originalAmount;
      if (action?.type !== "DEPOSIT" || action.amount !== amount || grant.remainingAmount !== 0n) {
        throw new Error(`Bug: scheduled grant ${grant.id} has no deposit of its amount.`);
      }
      const state = this.state(grant.accountId);
      if (state.scheduled < amount) throw new Error(`Bug: account ${grant.accountId} schedules less.`);
      if (state.balance + amount > int64Max) throw new Error("Bug: a scheduled deposit past the 64-bit range.");
      state.scheduled -= amount;
      // An overdraft is repaid first; the rest fills the grant.
      const filled = amount - minBigInt(amount, maxBigInt(0n, -state.balance));
      if (filled > 0n) {
        refills.push({ grantId: grant.id, from: 0n, to: filled });
        this.pendingAllocations.push({ actionId: action.id, grantId: grant.id, direction: "CREDIT", amount: filled });
        this.recorded.allocations.push({
          actionId: action.id,
          grant,
          createsGrant: false,
          direction: "CREDIT",
          amount: filled,
        });
      }
      this.recordEntry(action, state, "CREDIT", amount, state.balance + amount);
      this.settled.push(action);
    }
    await changeRemaining(this.tx, refills, this.now);
  }

  /**
   * Records a deposit effective later (a scheduled grant): the grant at once, holding nothing, with its amount
   * scheduled; and the DEPOSIT action, whose entry settleScheduledGrants records at its effective time.
   * Nothing enters the balance now, and no entry is written. The action names the grant (`grantId`), which is
   * inserted first for it to refer to. Call checkCredit first.
   */
  async scheduleDeposit(draft: ActionDraft, accountId: string, spec: GrantSpec): Promise<ScheduledDeposit> {
    const state = this.state(accountId);
    if (draft.effectiveAt.getTime() <= this.now.getTime()) throw new Error("Bug: a scheduled deposit effective now.");
    if (state.balance + state.scheduled + draft.amount > int64Max) {
      throw new Error("Bug: a scheduled deposit past the 64-bit range was not refused by checkCredit.");
    }
    const grantId = newId();
    const action = this.actionRow({ ...draft, grantId });
    const grant: CreditGrant = {
      id: grantId,
      tenantId: this.tenantId,
      accountId,
      name: spec.name,
      category: spec.category,
      priority: spec.priority,
      originalAmount: draft.amount,
      remainingAmount: 0n,
      scheduledAmount: draft.amount,
      effectiveAt: draft.effectiveAt,
      expiresAt: spec.expiresAt,
      voidedAt: null,
      externalReference: spec.externalReference,
      createdByActionId: action.id,
      createdAt: this.now,
      updatedAt: this.now,
    };
    await insertRows(this.tx, "credit_grant", [grant]);
    await this.recordAction(action);
    state.scheduled += draft.amount;
    return { action, grant };
  }

  /**
   * Voids a grant that is still scheduled (its deposit has not taken effect): its amount leaves `scheduled`,
   * and neither its deposit nor the void ever has an entry, as its credits were never in the balance. The
   * grant is marked void at `voidedAt` in the same conditional statement (see cancelScheduledGrant).
   */
  async cancelScheduled(grant: CreditGrant, voidedAt: Date): Promise<void> {
    const state = this.state(grant.accountId);
    if (grant.scheduledAmount <= 0n || state.scheduled < grant.scheduledAmount) {
      throw new Error(`Bug: grant ${grant.id} is not scheduled on its account.`);
    }
    await cancelScheduledGrant(this.tx, grant, voidedAt, this.now);
    state.scheduled -= grant.scheduledAmount;
  }

  /**
   * Records a HOLD_EXPIRATION for every pending hold of these accounts whose expiry has come, at its expiry
   * time, and gives its credits back to `available`. Called with settleClosedGrants whenever next_lapse_at
   * (which covers the pending holds' expiries too) has come.
   */
  private async settleLapsedHolds(accountIds: string[]): Promise<void> {
    const expired = await expireLapsedHolds(this.tx, accountIds, this.now);
    if (expired.length === 0) return;
    const actions = expired.map((hold) =>
      this.actionRow({
        type: "HOLD_EXPIRATION",
        amount: hold.amount,
        currency: this.account(hold.accountId).currency,
        sourceAccountId: null,
        targetAccountId: null,
        holdId: hold.id,
        effectiveAt: hold.expiresAt as Date,
        options: systemOptions,
      }),
    );
    await insertRows(this.tx, "credit_action", actions);
    for (const hold of expired) this.releaseCredits(hold.accountId, hold.amount);
    this.settled.push(...actions);
  }

  /** Reserves `amount` for a new pending hold (call checkDebit first: this asserts, it does not refuse). */
  holdCredits(accountId: string, amount: bigint): void {
    const state = this.state(accountId);
    if (state.balance - amount - state.held < -state.row.overdraftLimit) {
      throw new Error("Bug: a hold past the available credits was not refused by checkDebit.");
    }
    state.held += amount;
  }

  /** Gives back what a hold that leaves PENDING reserved. */
  releaseCredits(accountId: string, amount: bigint): void {
    const state = this.state(accountId);
    if (amount <= 0n || amount > state.held) throw new Error(`Bug: account ${accountId} holds less than ${amount}.`);
    state.held -= amount;
  }

  /**
   * Records an expiration (or void) for every grant of these accounts that still holds credits but has
   * expired by now (or was voided): one action, one entry and one allocation per grant, written in one
   * statement per table. `notBefore` raises the effective time, for credits that a reversal has just
   * returned to a grant that had already lapsed.
   */
  async settleClosedGrants(accountIds: string[], notBefore: Date | null = null): Promise<void> {
    const lapsed = await lapsedGrants(this.tx, accountIds, this.now);
    if (lapsed.length === 0) return;
    const actions = lapsed.map((grant) => {
      const voided = grant.voidedAt !== null;
      const closedAt = (voided ? grant.voidedAt : grant.expiresAt) as Date;
      return this.actionRow({
        type: voided ? "VOID" : "EXPIRATION",
        amount: grant.remainingAmount,
        currency: this.account(grant.accountId).currency,
        sourceAccountId: grant.accountId,
        targetAccountId: null,
        grantId: grant.id,
        effectiveAt: notBefore && notBefore.getTime() > closedAt.getTime() ? notBefore : closedAt,
        options: systemOptions,
      });
    });
    await insertRows(this.tx, "credit_action", actions);
    await changeRemaining(
      this.tx,
      lapsed.map((grant) => ({ grantId: grant.id, from: grant.remainingAmount, to: 0n })),
      this.now,
    );
    lapsed.forEach((grant, index) => {
      const action = actions[index] as CreditAction;
      this.recordDebit(
        action,
        grant.accountId,
        grant.remainingAmount,
        [{ grant, amount: grant.remainingAmount }],
        true,
      );
      this.settled.push(action);
    });
  }

  /**
   * Records the action row; its entries and allocations follow through debit() and credit().
   *
   * By default the action is inserted at once, skipping a row whose idempotency key the tenant already used
   * (`ON CONFLICT DO NOTHING`, no lookup first), and IdempotencyKeyTaken is thrown then, for the caller to
   * answer from the original action. A session that defers inserts (PostgreSQL, a single write's first
   * attempt: see moneyWrite) sends no statement here: the INSERT goes in the WITH clause of the session's
   * next statement, one round trip fewer while the accounts are locked. A taken key then fails that
   * statement with a unique violation, which retries the transaction, and the retry inserts at once.
   */
  async beginAction(draft: ActionDraft): Promise<CreditAction> {
    const action = this.actionRow(draft);
    await this.recordAction(action);
    return action;
  }

  private async recordAction(action: CreditAction): Promise<void> {
    if (this.defersInserts) this.pendingActions.push(action);
    else await this.insertAction(action);
  }

  private async insertAction(action: CreditAction): Promise<void> {
    const inserted = await this.tx.query<{ id: string }>(
      sql`${insertStatement("credit_action", [action])} ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
    );
    if (inserted.length !== 1) throw new IdempotencyKeyTaken();
  }

  private actionRow(draft: ActionDraft): CreditAction {
    return {
      id: newId(),
      tenantId: this.tenantId,
      type: draft.type,
      amount: draft.amount,
      currency: draft.currency,
      sourceAccountId: draft.sourceAccountId,
      targetAccountId: draft.targetAccountId,
      grantId: draft.grantId ?? null,
      holdId: draft.holdId ?? null,
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
      previousExpiresAt: draft.previousExpiresAt ?? null,
      newExpiresAt: draft.newExpiresAt ?? null,
      effectiveAt: draft.effectiveAt,
      createdAt: this.now,
      updatedAt: this.now,
    };
  }

  /**
   * Takes `amount` from the account for the action, from its grants by priority (lower first), soonest
   * expiry, oldest effective time, then id; grants created by `preferCreatedBy` first. The part no grant
   * covers overdraws the account. Call checkDebit first: this asserts, it does not refuse.
   */
  async debit(
    action: CreditAction,
    accountId: string,
    amount: bigint,
    options: { preferCreatedBy?: string } = {},
  ): Promise<Debit> {
    const state = this.state(accountId);
    if (state.balance - amount < -state.row.overdraftLimit) {
      throw new Error("Bug: debit past the overdraft limit was not refused by checkDebit.");
    }
    const consumed: Debit["consumed"] = [];
    let left = amount;
    // Spend in order, a page at a time, until the amount is covered or the grants run out. Each page's
    // changes are written before the next page is read, so the next page starts where this one ended.
    while (left > 0n) {
      const page = await spendingPage(this.tx, accountId, grantPageSize, {
        preferCreatedBy: options.preferCreatedBy ?? null,
        // A backdated debit spends only what was spendable at its time (checkBackdatedDebit made sure it is enough).
        spendableAtTime: this.isBackdated(action.effectiveAt) ? action.effectiveAt : null,
      });
      const changes: RemainingChange[] = [];
      for (const grant of page) {
        if (left === 0n) break;
        const part = minBigInt(grant.remainingAmount, left);
        changes.push({ grantId: grant.id, from: grant.remainingAmount, to: grant.remainingAmount - part });
        consumed.push({ grant, amount: part });
        left -= part;
      }
      if (changes.length > 0) await changeRemaining(this.tx, changes, this.now);
      if (page.length < grantPageSize) break;
    }
    return this.recordDebit(action, accountId, amount, consumed, false);
  }

  /**
   * Takes all that one grant holds (a void): the grant as read under the lock, marked void at `voidedAt` in
   * the same statement.
   */
  async debitWholeGrant(action: CreditAction, grant: CreditGrant, voidedAt: Date): Promise<Debit> {
    await changeRemaining(this.tx, [{ grantId: grant.id, from: grant.remainingAmount, to: 0n }], this.now, voidedAt);
    return this.recordDebit(
      action,
      grant.accountId,
      grant.remainingAmount,
      [{ grant, amount: grant.remainingAmount }],
      true,
    );
  }

  /**
   * Records an entry that moves nothing (amount 0, the balance unchanged), for an action that changes no
   * balance but belongs in the account's history: an expiry change. It takes the next sequence number.
   */
  recordWithoutAmount(action: CreditAction, accountId: string): CreditEntry {
    const state = this.state(accountId);
    return this.recordEntry(action, state, "CREDIT", 0n, state.balance);
  }

  /** Records the entry and allocations of a debit whose grants were already changed. */
  private recordDebit(
    action: CreditAction,
    accountId: string,
    amount: bigint,
    consumed: Debit["consumed"],
    wholeGrant: boolean,
  ): Debit {
    const state = this.state(accountId);
    const balanceBefore = state.balance;
    const balanceAfter = balanceBefore - amount;
    const fromGrants = consumed.reduce((sum, part) => sum + part.amount, 0n);
    const overdrawn = amount - fromGrants;
    // Grants hold max(balance, 0): they run dry exactly where the balance goes below zero.
    const expectedOverdrawn = maxBigInt(0n, -balanceAfter) - maxBigInt(0n, -balanceBefore);
    if (wholeGrant ? overdrawn !== 0n : overdrawn !== expectedOverdrawn) {
      throw new Error(`Bug: grants of account ${accountId} do not add up to its balance.`);
    }
    for (const part of consumed) {
      this.pendingAllocations.push({
        actionId: action.id,
        grantId: part.grant.id,
        direction: "DEBIT",
        amount: part.amount,
      });
      this.recorded.allocations.push({
        actionId: action.id,
        grant: part.grant,
        createsGrant: false,
        direction: "DEBIT",
        amount: part.amount,
      });
    }
    const entry = this.recordEntry(action, state, "DEBIT", amount, balanceAfter);
    return { entry, consumed, overdrawn };
  }

  /**
   * Adds `amount` to the account through the given lots (which add up to `amount`): an overdraft is repaid
   * first, from the first lots, and the rest fills the lots. New lots always create their grant, even when
   * the repayment left it empty, so that a deposit always has its grant. A lot into an existing grant must
   * carry the grant as read under the lock. Call checkCredit first.
   */
  async credit(action: CreditAction, accountId: string, lots: CreditLot[]): Promise<Credit> {
    const state = this.state(accountId);
    const amount = lots.reduce((sum, lot) => sum + lot.amount, 0n);
    if (amount !== action.amount) throw new Error("Bug: credit lots do not add up to the action's amount.");
    const balanceAfter = state.balance + amount;
    if (balanceAfter > int64Max) throw new Error("Bug: credit past the 64-bit range was not refused by checkCredit.");
    let toRepay = minBigInt(amount, maxBigInt(0n, -state.balance));
    const createdGrants: CreditGrant[] = [];
    const refills: RemainingChange[] = [];
    for (const lot of lots) {
      const repay = minBigInt(lot.amount, toRepay);
      toRepay -= repay;
      const filled = lot.amount - repay;
      let grantId: string;
      let recordedGrant: CreditGrant;
      if ("grant" in lot) {
        if (filled === 0n) continue;
        if (lot.grant.accountId !== accountId) throw new Error("Bug: credit into another account's grant.");
        refills.push({
          grantId: lot.grant.id,
          from: lot.grant.remainingAmount,
          to: lot.grant.remainingAmount + filled,
        });
        grantId = lot.grant.id;
        recordedGrant = lot.grant;
      } else {
        const grant: CreditGrant = {
          id: newId(),
          tenantId: this.tenantId,
          accountId,
          name: lot.spec.name,
          category: lot.spec.category,
          priority: lot.spec.priority,
          originalAmount: lot.amount,
          remainingAmount: filled,
          scheduledAmount: 0n,
          effectiveAt: action.effectiveAt,
          expiresAt: lot.spec.expiresAt,
          voidedAt: null,
          externalReference: lot.spec.externalReference,
          createdByActionId: action.id,
          createdAt: this.now,
          updatedAt: this.now,
        };
        createdGrants.push(grant);
        grantId = grant.id;
        recordedGrant = grant;
      }
      if (filled > 0n) {
        this.pendingAllocations.push({ actionId: action.id, grantId, direction: "CREDIT", amount: filled });
        this.recorded.allocations.push({
          actionId: action.id,
          grant: recordedGrant,
          createsGrant: !("grant" in lot),
          direction: "CREDIT",
          amount: filled,
        });
      }
    }
    // A session that defers inserts writes new grants with the final statement (see finish), or before any
    // statement sent earlier (see carryingDeferredInserts).
    if (this.defersInserts) this.pendingGrants.push(...createdGrants);
    else await insertRows(this.tx, "credit_grant", createdGrants);
    await changeRemaining(this.tx, refills, this.now);
    const entry = this.recordEntry(action, state, "CREDIT", amount, balanceAfter);
    return { entry, createdGrants };
  }

  private recordEntry(
    action: CreditAction,
    state: AccountState,
    direction: EntryDirection,
    amount: bigint,
    balanceAfter: bigint,
  ): CreditEntry {
    const balanceBefore = state.balance;
    state.balance = balanceAfter;
    state.entryCount += 1;
    const entry: CreditEntry = {
      id: newId(),
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
    };
    this.pendingEntries.push(entry);
    this.recorded.entries.push(entry);
    return entry;
  }

  /** Writes the allocations and entries recorded so far. */
  private async writePending(): Promise<void> {
    await insertRows(this.tx, "credit_allocation", this.pendingAllocations.splice(0));
    await insertRows(this.tx, "credit_entry", this.pendingEntries.splice(0));
  }

  /**
   * Writes the allocations and entries recorded so far, then the new balances of the touched accounts in one
   * UPDATE that asserts, per account, that its grants hold exactly its positive balance and that its entry
   * count is still the one read under the lock (see writeBalances); returns the touched accounts as the
   * transaction leaves them. On PostgreSQL the pending allocations and entries go in the UPDATE's statement,
   * as INSERTs in its WITH clause: one round trip instead of three while the accounts are locked (the UPDATE
   * reads only grants and the accounts' own rows, never the entries and allocations written beside it).
   */
  async finish(): Promise<CreditAccount[]> {
    const touched = [...this.accounts.values()].filter(
      (state) =>
        state.entryCount !== state.lockedEntryCount ||
        state.held !== state.row.held ||
        state.scheduled !== state.row.scheduled,
    );
    const inserts =
      this.engine === "postgres" && touched.length > 0
        ? insertsAsCommonTableExpressions([
            {
              table: "credit_grant",
              rows: this.pendingGrants,
              returning: { name: "new_grants", columns: grantColumns },
            },
            { table: "credit_allocation", rows: this.pendingAllocations },
            { table: "credit_entry", rows: this.pendingEntries },
          ])
        : null;
    // The UPDATE does not see the grants inserted beside it in credit_grant: it reads them from new_grants.
    const newGrants = inserts !== null && this.pendingGrants.length > 0 ? "new_grants" : null;
    if (inserts) {
      this.pendingGrants.length = 0;
      this.pendingAllocations.length = 0;
      this.pendingEntries.length = 0;
    } else await this.writePending();
    if (touched.length === 0) {
      // Nothing else to send: the deferred rows, if any, go alone (the actions with the grants, if any).
      await insertRows(this.tx, "credit_grant", this.pendingGrants.splice(0));
      await insertRows(this.tx, "credit_action", this.pendingActions.splice(0));
      return [];
    }
    const updates = touched.map((state) => ({
      accountId: state.row.id,
      balance: state.balance,
      entryCount: state.entryCount,
      lockedEntryCount: state.lockedEntryCount,
      held: state.held,
      scheduled: state.scheduled,
    }));
    const updated = await writeBalances(this.tx, updates, this.now, inserts ?? undefined, newGrants);
    if (updated.length !== updates.length) throw new Error(`Bug: ${await explainFailedUpdate(this.tx, updates)}.`);
    for (const state of touched) state.lockedEntryCount = state.entryCount;
    for (const row of updated) this.state(row.id).row = row;
    return updated;
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
