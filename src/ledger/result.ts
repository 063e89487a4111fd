// Expected failures are values, not exceptions: every ledger operation returns a LedgerResult.
// Codes are stable (clients branch on them); messages are English defaults, and `params` carries the values
// a translated message needs. Throwing is reserved for bugs and infrastructure faults.

export const ledgerErrorCodes = [
  // Amounts
  "INVALID_AMOUNT",
  "AMOUNT_NOT_POSITIVE",
  "AMOUNT_OUT_OF_RANGE",
  "BALANCE_OUT_OF_RANGE",
  "INSUFFICIENT_CREDITS",
  // Things referred to
  "CUSTOMER_NOT_FOUND",
  "ACCOUNT_NOT_FOUND",
  "ACCOUNT_CLOSED",
  "ACCOUNT_NOT_EMPTY",
  "ACCOUNT_ALREADY_CLOSED",
  "STORE_NOT_FOUND",
  "PARTNER_NOT_FOUND",
  "GRANT_NOT_FOUND",
  "GRANT_NOT_ACTIVE",
  "ACTION_NOT_FOUND",
  "HOLD_NOT_FOUND",
  // Operation rules
  "CURRENCY_MISMATCH",
  "SAME_ACCOUNT",
  "ALREADY_REVERSED",
  "NOT_REVERSIBLE",
  "EXTERNAL_ID_TAKEN",
  "HOLD_NOT_PENDING",
  "CAPTURE_EXCEEDS_HOLD",
  "CREDITS_HELD",
  // Batches
  "BATCH_EMPTY",
  "BATCH_TOO_LARGE",
  // Idempotency
  "INVALID_IDEMPOTENCY_KEY",
  "IDEMPOTENCY_KEY_REUSED",
  // Field formats
  "INVALID_TEXT",
  "INVALID_CURRENCY",
  "INVALID_NAME",
  "INVALID_EMAIL",
  "INVALID_EXTERNAL_ID",
  "INVALID_TIME_ZONE",
  "INVALID_LOCALE",
  "NOTE_TOO_LONG",
  "EXTERNAL_REFERENCE_TOO_LONG",
  "INVALID_EFFECTIVE_AT",
  "INVALID_EXPIRES_AT",
  "INVALID_PRIORITY",
  "INVALID_OVERDRAFT_LIMIT",
  "INVALID_INITIATOR",
  "INVALID_SEQUENCE",
  "INVALID_EXPECTED",
  // Conditional writes: the account is no longer in the state the request expected.
  "ACCOUNT_CHANGED",
  // Retryable: the write lost a race more often than it may retry, or could not get a connection in time.
  "LEDGER_BUSY",
] as const;

export type LedgerErrorCode = (typeof ledgerErrorCodes)[number];

export interface LedgerError {
  code: LedgerErrorCode;
  /** The input field at fault, as named in the operation's input (e.g. "amount"), or null. */
  field: string | null;
  /** English message for people; translate by code and params. */
  message: string;
  /** Values quoted by the message, as strings (amounts stay exact). */
  params: Record<string, string>;
  /** True when the same request may succeed if simply sent again. */
  retryable: boolean;
}

export type LedgerFailure = { ok: false; error: LedgerError };
export type LedgerResult<T> = ({ ok: true } & T) | LedgerFailure;

export function failure(
  code: LedgerErrorCode,
  field: string | null,
  message: string,
  params: Record<string, string> = {},
): LedgerFailure {
  return { ok: false, error: { code, field, message, params, retryable: code === "LEDGER_BUSY" } };
}

export function isFailure(value: unknown): value is LedgerFailure {
  return typeof value === "object" && value !== null && (value as { ok?: unknown }).ok === false;
}
