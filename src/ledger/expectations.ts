// Conditional writes (optimistic concurrency): a money-moving operation may name the state it expects an
// account to be in, as the caller last read it, and is refused with ACCOUNT_CHANGED when the account has moved
// since. The state is the account's balance and its sequence: the number of entries written to it, which is
// also the sequence number of its latest entry (entries are numbered 1, 2, 3... per account, see
// write-session.ts). The sequence changes with every entry, even one that leaves the balance where it was
// (a deposit followed by an equal reduction), so it is the exact condition; the balance is the convenient one.
//
// Holds change neither (they move no entry): they change the account's `held`. A caller that must also notice
// a hold placed, captured or released since its read sends `held` too.
//
// The comparison is made in memory, under the lock, on the state the write has just read with its locking
// statement and after the lapsed grants were settled (as every read settles them first, that is the state a
// reader was shown): a condition costs no statement.
import { int64Max, parseAmount } from "./amounts.ts";
import { failure, isFailure, type LedgerFailure } from "./result.ts";

/** The state a caller expects an account to be in; any part may be omitted, but not all of them. */
export interface AccountExpectation {
  /** The balance, in minor units (a bigint, a safe-integer number or a string of digits). */
  balance?: bigint | number | string | null;
  /** The account's sequence: how many entries it has, which is its latest entry's sequence number (0: none). */
  sequence?: number | null;
  /** Credits the account's pending holds reserve, in minor units (holds change neither balance nor sequence). */
  held?: bigint | number | string | null;
}

export interface CheckedExpectation {
  balance: bigint | null;
  sequence: number | null;
  held: bigint | null;
  /** The input field the expectation came from, e.g. "expected" or "expectedSource". */
  field: string;
}

/**
 * Checks the shape of an expectation: null when none is given. One that names no part (`expected: {}`, or
 * every part null) is refused with INVALID_EXPECTED: it would make the write unconditional while the caller
 * believes it conditional, typically because a client dropped the value it meant to send.
 */
export function parseExpectation(
  expectation: AccountExpectation | null | undefined,
  field: string,
): CheckedExpectation | null | LedgerFailure {
  if (expectation === null || expectation === undefined) return null;
  let balance: bigint | null = null;
  if (expectation.balance !== null && expectation.balance !== undefined) {
    const parsed = parseAmount(expectation.balance, `${field}.balance`);
    if (isFailure(parsed)) return parsed;
    balance = parsed;
  }
  // A balance is never below minus the account's overdraft limit, and the largest limit is the largest 64-bit
  // amount: the one amount below it, -2^63, is a balance no account can have. An expectation no account can
  // ever meet is a mistake in the request (a negated or mistyped value), not a state that changed since a read,
  // so it is refused as such rather than answered ACCOUNT_CHANGED. Any other negative balance is possible on
  // an account with an overdraft limit, and is compared like any other.
  if (balance !== null && balance < -int64Max) return impossible(`${field}.balance`, balance);
  let held: bigint | null = null;
  if (expectation.held !== null && expectation.held !== undefined) {
    const parsed = parseAmount(expectation.held, `${field}.held`);
    if (isFailure(parsed)) return parsed;
    held = parsed;
  }
  // Held is a sum of pending holds' amounts, each greater than zero: never negative on any account.
  if (held !== null && held < 0n) return impossible(`${field}.held`, held);
  const sequence = expectation.sequence ?? null;
  if (sequence !== null && (!Number.isSafeInteger(sequence) || sequence < 0)) {
    return failure(
      "INVALID_SEQUENCE",
      `${field}.sequence`,
      `The expected sequence must be a whole number, 0 or more (the account's number of entries); got ${sequence}.`,
      { value: String(sequence) },
    );
  }
  if (balance === null && sequence === null && held === null) {
    return failure(
      "INVALID_EXPECTED",
      field,
      `${field} names no state to expect: give balance, sequence or held (as last read), or leave ${field} out for an unconditional write.`,
      { field },
    );
  }
  return { balance, sequence, held, field };
}

/** INVALID_EXPECTED for a part of an expectation that no account can ever have. */
function impossible(field: string, value: bigint): LedgerFailure {
  const floor: Record<string, string> = field.endsWith(".balance") ? { floor: (-int64Max).toString() } : {};
  return failure(
    "INVALID_EXPECTED",
    field,
    field.endsWith(".balance")
      ? `${field} can never be ${value}: no balance is below ${-int64Max} (minus the largest overdraft limit).`
      : `${field} can never be negative (it is what pending holds reserve); got ${value}.`,
    { field, reason: "impossible", value: value.toString(), ...floor },
  );
}

/** ACCOUNT_CHANGED when the account's balance, sequence or held amount is not the expected one, else null. */
export function checkExpectation(
  expectation: CheckedExpectation | null,
  accountId: string,
  state: { balance: bigint; sequence: number; held: bigint },
): LedgerFailure | null {
  if (expectation === null) return null;
  const balanceMoved = expectation.balance !== null && expectation.balance !== state.balance;
  const sequenceMoved = expectation.sequence !== null && expectation.sequence !== state.sequence;
  const heldMoved = expectation.held !== null && expectation.held !== state.held;
  if (!balanceMoved && !sequenceMoved && !heldMoved) return null;
  const params: Record<string, string> = {
    id: accountId,
    balance: state.balance.toString(),
    sequence: String(state.sequence),
    held: state.held.toString(),
  };
  if (expectation.balance !== null) params.expectedBalance = expectation.balance.toString();
  if (expectation.sequence !== null) params.expectedSequence = String(expectation.sequence);
  if (expectation.held !== null) params.expectedHeld = expectation.held.toString();
  return failure(
    "ACCOUNT_CHANGED",
    `${expectation.field}.${balanceMoved ? "balance" : sequenceMoved ? "sequence" : "held"}`,
    `The account has changed since it was read: its balance is ${state.balance}, its sequence ${state.sequence} ` +
      `and its held amount ${state.held}` +
      `${expectation.balance !== null ? `; expected balance ${expectation.balance}` : ""}` +
      `${expectation.sequence !== null ? `; expected sequence ${expectation.sequence}` : ""}` +
      `${expectation.held !== null ? `; expected held ${expectation.held}` : ""}. Nothing was written; read the account again and decide afresh.`,
    params,
  );
}
