// Conditional writes (optimistic concurrency): a money-moving operation may name the state it expects an
// account to be in, as the caller last read it, and is refused with ACCOUNT_CHANGED when the account has moved
// since. The state is the account's balance and its sequence: the number of entries written to it, which is
// also the sequence number of its latest entry (entries are numbered 1, 2, 3... per account, see
// write-session.ts). The sequence changes with every entry, even one that leaves the balance where it was
// (a deposit followed by an equal reduction), so it is the exact condition; the balance is the convenient one.
//
// The comparison is made in memory, under the lock, on the state the write has just read with its locking
// statement and after the lapsed grants were settled (as every read settles them first, that is the state a
// reader was shown): a condition costs no statement.
import { parseAmount } from "./amounts.ts";
import { failure, isFailure, type LedgerFailure } from "./result.ts";

/** The state a caller expects an account to be in; either part may be omitted. */
export interface AccountExpectation {
  /** The balance, in minor units (a bigint, a safe-integer number or a string of digits). */
  balance?: bigint | number | string | null;
  /** The account's sequence: how many entries it has, which is its latest entry's sequence number (0: none). */
  sequence?: number | null;
}

export interface CheckedExpectation {
  balance: bigint | null;
  sequence: number | null;
  /** The input field the expectation came from, e.g. "expected" or "expectedSource". */
  field: string;
}

/** Checks the shape of an expectation: null when none is given (or it names neither part). */
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
  const sequence = expectation.sequence ?? null;
  if (sequence !== null && (!Number.isSafeInteger(sequence) || sequence < 0)) {
    return failure(
      "INVALID_SEQUENCE",
      `${field}.sequence`,
      `The expected sequence must be a whole number, 0 or more (the account's number of entries); got ${sequence}.`,
      { value: String(sequence) },
    );
  }
  if (balance === null && sequence === null) return null;
  return { balance, sequence, field };
}

/** ACCOUNT_CHANGED when the account's balance or sequence is not the expected one, else null. */
export function checkExpectation(
  expectation: CheckedExpectation | null,
  accountId: string,
  state: { balance: bigint; sequence: number },
): LedgerFailure | null {
  if (expectation === null) return null;
  const balanceMoved = expectation.balance !== null && expectation.balance !== state.balance;
  const sequenceMoved = expectation.sequence !== null && expectation.sequence !== state.sequence;
  if (!balanceMoved && !sequenceMoved) return null;
  const params: Record<string, string> = {
    id: accountId,
    balance: state.balance.toString(),
    sequence: String(state.sequence),
  };
  if (expectation.balance !== null) params.expectedBalance = expectation.balance.toString();
  if (expectation.sequence !== null) params.expectedSequence = String(expectation.sequence);
  return failure(
    "ACCOUNT_CHANGED",
    `${expectation.field}.${balanceMoved ? "balance" : "sequence"}`,
    `The account has changed since it was read: its balance is ${state.balance} and its sequence ${state.sequence}` +
      `${expectation.balance !== null ? `; expected balance ${expectation.balance}` : ""}` +
      `${expectation.sequence !== null ? `; expected sequence ${expectation.sequence}` : ""}. Nothing was written; read the account again and decide afresh.`,
    params,
  );
}
