// Holds: authorize now, capture or release later (TigerBeetle's pending transfers, Stripe's authorizations): a
// checkout reserves store credit when the order is placed and takes it when the order ships.
//
// `authorize` reserves credits on an account: they stay in its balance but leave `available`, so that no
// reduction, transfer or other hold can take them (all of them are checked against `available` under the
// account's lock). `capture` takes all or part of a pending hold as a REDUCTION, spending grants in the
// ledger's order at capture time, and releases the rest; `release` gives the whole hold back; a hold that
// reaches its expiry releases itself (HOLD_EXPIRATION), recorded before any read or write of its account shows
// it, like a grant's expiry (next_lapse_at covers pending holds too).
//
// Every transition is an action linked to the hold, so each is idempotent with a key and part of the ledger's
// record. A hold changes only under its account's lock and leaves PENDING through a conditional UPDATE, so a
// capture, a release and an expiry racing each other resolve exactly once: the first closes it, the others
// find it closed (HOLD_NOT_PENDING, naming its state).
import { sql } from "../../db/sql.ts";
import type { CreditHold } from "../../generated/postgres/client.ts";
import { parsePositiveAmount } from "../amounts.ts";
import { type AccountExpectation, parseExpectation } from "../expectations.ts";
import { newId } from "../ids.ts";
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { failure, isFailure, type LedgerFailure, type LedgerResult } from "../result.ts";
import { closePendingHold, holdById } from "../sql/holds.ts";
import { insertRows } from "../sql/rows.ts";
import { rollback } from "../transaction.ts";
import { checkDate, type WriteOptions } from "../validation.ts";
import type { WriteSession } from "../write-session.ts";
import {
  draftOptions,
  type LedgerDependencies,
  lockOpenAccounts,
  type PreparedWrite,
  refuseClosed,
  runPrepared,
} from "./money-write.ts";

/** A hold operation's outcome: its action, and the hold as the operation left it (as it is now, on a replay). */
export interface HoldOutcome extends ActionOutcome {
  hold: CreditHold;
}

/** The options every write takes; `effectiveAt` is refused (INVALID_EFFECTIVE_AT): holds take effect when recorded. */
export type HoldWriteOptions = WriteOptions;

export interface AuthorizeInput extends HoldWriteOptions {
  accountId: string;
  /** Minor units: a bigint, a safe-integer number or a string of digits. */
  amount: bigint | number | string;
  /** When the hold releases itself if neither captured nor released; null or absent for never. */
  expiresAt?: Date | null;
  /** Refuse with ACCOUNT_CHANGED unless the account is in this state (see expectations.ts). */
  expected?: AccountExpectation | null;
}

export interface CaptureInput extends HoldWriteOptions {
  holdId: string;
  /** What to take, at most the hold's amount; null or absent for the whole hold. */
  amount?: bigint | number | string | null;
  /** Refuse with ACCOUNT_CHANGED unless the hold's account is in this state (see expectations.ts). */
  expected?: AccountExpectation | null;
}

export interface ReleaseInput extends HoldWriteOptions {
  holdId: string;
}

/**
 * Places a hold of `amount` on the account. Refused with INSUFFICIENT_CREDITS when the account has less
 * available (its balance plus unused overdraft, less what pending holds already reserve).
 */
export async function authorize(
  deps: LedgerDependencies,
  tenantId: string,
  input: AuthorizeInput,
): Promise<LedgerResult<HoldOutcome>> {
  return withHold(deps, await runPrepared(deps, tenantId, prepareAuthorize(input), input));
}

/** Checks an authorization's input and prepares its write (see PreparedWrite). */
export function prepareAuthorize(input: AuthorizeInput): PreparedWrite<HoldOutcome> | LedgerFailure {
  const backdated = refuseEffectiveAt(input);
  if (backdated) return backdated;
  const amount = parsePositiveAmount(input.amount);
  if (isFailure(amount)) return amount;
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt !== null) {
    const problem = checkDate(expiresAt, "expiresAt", "INVALID_EXPIRES_AT");
    if (problem) return problem;
  }
  const expected = parseExpectation(input.expected, "expected");
  if (isFailure(expected)) return expected;
  return {
    operation: "authorize",
    parameters: { accountId: input.accountId, amount, expiresAt },
    accountIds: [input.accountId],
    body: async (session, options, requestHash) => {
      if (expiresAt !== null && expiresAt <= session.now) {
        rollback(
          failure("INVALID_EXPIRES_AT", "expiresAt", "The expiry must be later than now.", {
            value: expiresAt.toISOString(),
          }),
        );
      }
      await lockOpenAccounts(session, [{ id: input.accountId, field: "accountId" }]);
      await session.settleDueGrants([input.accountId]);
      const problem = session.checkExpected(input.accountId, expected) ?? session.checkDebit(input.accountId, amount);
      if (problem) rollback(problem);
      const hold: CreditHold = {
        id: newId(),
        tenantId: session.tenantId,
        accountId: input.accountId,
        state: "PENDING",
        amount,
        capturedAmount: 0n,
        expiresAt,
        closedAt: null,
        createdAt: session.now,
        updatedAt: session.now,
      };
      // The hold first: its action refers to it.
      await insertRows(session.tx, "credit_hold", [hold]);
      const action = await session.beginAction({
        type: "HOLD",
        amount,
        currency: session.account(input.accountId).currency,
        sourceAccountId: null,
        targetAccountId: null,
        holdId: hold.id,
        requestHash,
        effectiveAt: options.effectiveAt,
        options: draftOptions(options),
      });
      session.holdCredits(input.accountId, amount);
      return { ...outcomeOf(action, [], [], session.settled), hold };
    },
  };
}

/**
 * Takes `amount` (default: all) of a pending hold as a REDUCTION and releases the rest. Refused with
 * HOLD_NOT_PENDING when the hold was already captured, released or has expired, CAPTURE_EXCEEDS_HOLD when
 * `amount` is more than the hold, and INSUFFICIENT_CREDITS when grants that lapsed since the authorization
 * left the account too little to take it.
 *
 * That last case is the one way a pending hold can lose the credits it relies on: voids, expiries moved into
 * the past and lower overdraft limits are refused with CREDITS_HELD, but a grant reaching its own expiry is
 * not a request and lapses anyway. The capture is then held to the ordinary debit check, after giving back
 * the hold's own reservation: it takes at most the balance plus the unused overdraft less the other holds, so
 * it never overdraws past the limit, and as a plain debit it creates no credits. The hold stays pending.
 */
export async function capture(
  deps: LedgerDependencies,
  tenantId: string,
  input: CaptureInput,
): Promise<LedgerResult<HoldOutcome>> {
  return withHold(deps, await runPrepared(deps, tenantId, prepareCapture(input), input));
}

/** Checks a capture's input and prepares its write (see PreparedWrite). */
export function prepareCapture(input: CaptureInput): PreparedWrite<HoldOutcome> | LedgerFailure {
  const backdated = refuseEffectiveAt(input);
  if (backdated) return backdated;
  const requested = input.amount === null || input.amount === undefined ? null : parsePositiveAmount(input.amount);
  if (isFailure(requested)) return requested;
  const expected = parseExpectation(input.expected, "expected");
  if (isFailure(expected)) return expected;
  return {
    operation: "capture",
    parameters: { holdId: input.holdId, amount: requested },
    accountIds: [],
    holdIds: [input.holdId],
    body: async (session, options, requestHash) => {
      const accountId = await lockHoldAccount(session, input.holdId);
      const changed = session.checkExpected(accountId, expected);
      if (changed) rollback(changed);
      const hold = await closePendingHold(session.tx, input.holdId, "CAPTURED", requested, session.now);
      if (!hold) rollback(await whyNotPending(session, input.holdId, requested));
      session.releaseCredits(accountId, hold.amount);
      const problem = session.checkDebit(accountId, hold.capturedAmount);
      if (problem) rollback(problem);
      const action = await session.beginAction({
        type: "REDUCTION",
        amount: hold.capturedAmount,
        currency: session.account(accountId).currency,
        sourceAccountId: accountId,
        targetAccountId: null,
        holdId: hold.id,
        requestHash,
        effectiveAt: options.effectiveAt,
        options: draftOptions(options),
      });
      const debit = await session.debit(action, accountId, hold.capturedAmount);
      return { ...outcomeOf(action, [debit.entry], [], session.settled), hold };
    },
  };
}

/** Voids a pending hold: its credits are available again. HOLD_NOT_PENDING when it is no longer pending. */
export async function release(
  deps: LedgerDependencies,
  tenantId: string,
  input: ReleaseInput,
): Promise<LedgerResult<HoldOutcome>> {
  return withHold(deps, await runPrepared(deps, tenantId, prepareRelease(input), input));
}

/** Checks a release's input and prepares its write (see PreparedWrite). */
export function prepareRelease(input: ReleaseInput): PreparedWrite<HoldOutcome> | LedgerFailure {
  const backdated = refuseEffectiveAt(input);
  if (backdated) return backdated;
  return {
    operation: "release",
    parameters: { holdId: input.holdId },
    accountIds: [],
    holdIds: [input.holdId],
    body: async (session, options, requestHash) => {
      const accountId = await lockHoldAccount(session, input.holdId);
      const hold = await closePendingHold(session.tx, input.holdId, "RELEASED", 0n, session.now);
      if (!hold) rollback(await whyNotPending(session, input.holdId, null));
      session.releaseCredits(accountId, hold.amount);
      const action = await session.beginAction({
        type: "HOLD_RELEASE",
        amount: hold.amount,
        currency: session.account(accountId).currency,
        sourceAccountId: null,
        targetAccountId: null,
        holdId: hold.id,
        requestHash,
        effectiveAt: options.effectiveAt,
        options: draftOptions(options),
      });
      return { ...outcomeOf(action, [], [], session.settled), hold };
    },
  };
}

/**
 * Locks the hold's account (found through the hold, in the locking statement) and records what has lapsed on
 * it by now, the hold's own expiry included: a hold past its expiry is EXPIRED before anything looks at it.
 */
async function lockHoldAccount(session: WriteSession, holdId: string): Promise<string> {
  const accountId = await session.lockHolderOfHold(holdId, "holdId");
  if (isFailure(accountId)) rollback(accountId);
  refuseClosed(session, accountId, "holdId");
  await session.settleDueGrants([accountId]);
  return accountId;
}

/** Why closePendingHold found nothing to close: the hold's state, or a capture larger than the hold. */
async function whyNotPending(session: WriteSession, holdId: string, requested: bigint | null): Promise<LedgerFailure> {
  const hold = await holdById(session.tx, holdId);
  if (!hold) throw new Error(`Bug: hold ${holdId} vanished under its account's lock.`);
  const state =
    hold.state === "PENDING" && hold.expiresAt !== null && hold.expiresAt <= session.now ? "EXPIRED" : hold.state;
  if (state !== "PENDING") {
    return failure("HOLD_NOT_PENDING", "holdId", `The hold is no longer pending: it is ${state.toLowerCase()}.`, {
      state,
    });
  }
  if (requested !== null && requested > hold.amount) {
    return failure(
      "CAPTURE_EXCEEDS_HOLD",
      "amount",
      `The hold reserves ${hold.amount}; ${requested} cannot be captured from it.`,
      { held: hold.amount.toString(), requested: requested.toString() },
    );
  }
  throw new Error(`Bug: pending hold ${holdId} could not be closed.`);
}

/** Holds are never backdated: they reserve what is available now. */
function refuseEffectiveAt(input: WriteOptions): LedgerFailure | null {
  if (input.effectiveAt === null || input.effectiveAt === undefined) return null;
  return failure(
    "INVALID_EFFECTIVE_AT",
    "effectiveAt",
    "Holds take effect when they are recorded; they cannot be backdated.",
    { hold: "true" },
  );
}

/** A replay is answered from the stored action, which does not carry the hold: read it (as it is now). */
async function withHold(
  deps: LedgerDependencies,
  result: LedgerResult<HoldOutcome>,
): Promise<LedgerResult<HoldOutcome>> {
  if (!result.ok || result.hold !== undefined) return result;
  const holdId = result.action.holdId;
  const [hold] =
    holdId === null
      ? []
      : await deps.database.reader.query<CreditHold>(sql`SELECT * FROM credit_hold WHERE id = ${holdId}`);
  if (!hold) throw new Error(`Bug: the replayed action ${result.action.id} names no hold.`);
  return { ...result, hold };
}
