// Checks of input shape that need no database: lengths, formats, time rules. Each refusal names its field
// and has a stable code (see result.ts). Checks that need the database (does the store exist?) happen inside
// the operation's transaction.
import { failure, type LedgerFailure } from "./result.ts";
import type { InitiatorType } from "../generated/postgres/enums.ts";

export const limits = {
  noteLength: 1000,
  externalReferenceLength: 255,
  idempotencyKeyLength: 255,
  nameLength: 200,
  externalIdLength: 255,
  emailLength: 320,
  initiatorIdLength: 255,
  minPriority: 0,
  maxPriority: 100,
  /**
   * How far ahead a deposit may be scheduled: 1826 days (five years). Far enough for the credits of a
   * multi-year contract granted up front; a bound, so that a typo in the year is refused rather than kept.
   */
  scheduleAheadDays: 1826,
} as const;

/** Who caused an action. The GraphQL layer fills it from the authenticated API key unless a user is named. */
export interface Initiator {
  type: InitiatorType;
  /** The tenant's own id of the user, or our API key id; absent for the system. */
  id?: string | null;
  /** The API key the request came with, if any. */
  apiKeyId?: string | null;
}

/** Options every money-moving operation accepts. */
export interface WriteOptions {
  /** Retrying with the same key and the same parameters returns the first result instead of writing again. */
  idempotencyKey?: string | null;
  note?: string | null;
  storeId?: string | null;
  partnerId?: string | null;
  /** What the action paid for or came from, e.g. an invoice and line item. */
  externalReference?: string | null;
  /**
   * When the action takes effect; defaults to now. May be in the past (backdating); in the future only for a
   * deposit (a scheduled grant, at most `limits.scheduleAheadDays` ahead).
   */
  effectiveAt?: Date | null;
  initiator?: Initiator;
  /**
   * Run the write to its end and roll it back: the result says what it would have done (see money-write.ts);
   * nothing is written and the idempotency key stays free.
   */
  dryRun?: boolean;
}

export interface CheckedWriteOptions {
  idempotencyKey: string | null;
  note: string | null;
  storeId: string | null;
  partnerId: string | null;
  externalReference: string | null;
  effectiveAt: Date;
  /** The effective time as the caller gave it (null when defaulted), for the idempotency fingerprint. */
  requestedEffectiveAt: Date | null;
  initiator: Required<Initiator>;
}

const printable = /^[\x21-\x7e]+$/;

/**
 * Whether text can be stored as it is on both engines: PostgreSQL refuses the NUL character in text, and a
 * string with a lone surrogate is not valid Unicode (it would be stored altered).
 */
export function isStorableText(text: string): boolean {
  return !text.includes("\u0000") && text.isWellFormed();
}

function unstorable(field: string): LedgerFailure {
  return failure(
    "INVALID_TEXT",
    field,
    "The text contains a character that cannot be stored (NUL or invalid Unicode).",
    { field },
  );
}

/**
 * Checks the options every money-moving write takes. `schedulable` allows an effective time in the future, up
 * to `limits.scheduleAheadDays` ahead (a deposit: a scheduled grant); other writes take effect now or earlier.
 */
export function checkWriteOptions(
  options: WriteOptions,
  now: Date,
  schedulable = false,
): CheckedWriteOptions | LedgerFailure {
  const idempotencyKey = options.idempotencyKey ?? null;
  if (idempotencyKey !== null) {
    if (
      idempotencyKey.length === 0 ||
      idempotencyKey.length > limits.idempotencyKeyLength ||
      !printable.test(idempotencyKey)
    ) {
      return failure(
        "INVALID_IDEMPOTENCY_KEY",
        "idempotencyKey",
        `The idempotency key must be 1 to ${limits.idempotencyKeyLength} visible ASCII characters without spaces.`,
        { max: String(limits.idempotencyKeyLength) },
      );
    }
  }
  const note = emptyToNull(options.note);
  if (note !== null && !isStorableText(note)) return unstorable("note");
  if (note !== null && [...note].length > limits.noteLength) {
    return failure("NOTE_TOO_LONG", "note", `The note may have at most ${limits.noteLength} characters.`, {
      max: String(limits.noteLength),
    });
  }
  const externalReference = emptyToNull(options.externalReference);
  if (externalReference !== null && !isStorableText(externalReference)) return unstorable("externalReference");
  if (externalReference !== null && [...externalReference].length > limits.externalReferenceLength) {
    return failure(
      "EXTERNAL_REFERENCE_TOO_LONG",
      "externalReference",
      `The external reference may have at most ${limits.externalReferenceLength} characters.`,
      { max: String(limits.externalReferenceLength) },
    );
  }
  const requestedEffectiveAt = options.effectiveAt ?? null;
  if (requestedEffectiveAt !== null) {
    const problem = checkDate(requestedEffectiveAt, "effectiveAt", "INVALID_EFFECTIVE_AT");
    if (problem) return problem;
    const latest = scheduleHorizon(now);
    if (schedulable && requestedEffectiveAt.getTime() > latest.getTime()) {
      return failure(
        "INVALID_EFFECTIVE_AT",
        "effectiveAt",
        `A deposit can be scheduled at most ${limits.scheduleAheadDays} days ahead, until ${latest.toISOString()}.`,
        {
          value: requestedEffectiveAt.toISOString(),
          reason: "too-far-ahead",
          days: String(limits.scheduleAheadDays),
          latest: latest.toISOString(),
        },
      );
    }
    if (!schedulable && requestedEffectiveAt.getTime() > now.getTime()) {
      return failure(
        "INVALID_EFFECTIVE_AT",
        "effectiveAt",
        "The effective time may not be in the future; actions take effect when they are recorded or earlier.",
        { value: requestedEffectiveAt.toISOString(), now: now.toISOString() },
      );
    }
  }
  const initiator = options.initiator ?? { type: "SYSTEM" };
  const initiatorId = emptyToNull(initiator.id);
  if (initiatorId !== null && !isStorableText(initiatorId)) return unstorable("initiator");
  if (initiatorId !== null && initiatorId.length > limits.initiatorIdLength) {
    return failure(
      "INVALID_INITIATOR",
      "initiator",
      `The initiator id may have at most ${limits.initiatorIdLength} characters.`,
      {
        max: String(limits.initiatorIdLength),
      },
    );
  }
  if (initiator.type === "USER" && initiatorId === null) {
    return failure("INVALID_INITIATOR", "initiator", "A user initiator needs the user's id.");
  }
  // An API_KEY initiator is the key that sent the request (when the caller says which, as the API always
  // does): naming another key would record an action as written by a credential that never sent it. Refused
  // rather than silently replaced by the calling key, because a caller that names a key believes that key is
  // recorded. Without an id, the calling key is recorded.
  const apiKeyId = initiator.apiKeyId ?? null;
  if (initiator.type === "API_KEY" && apiKeyId !== null && initiatorId !== null && initiatorId !== apiKeyId) {
    return failure(
      "INVALID_INITIATOR",
      "initiator.id",
      "An API_KEY initiator is always the API key that sends the request; omit the id, or send that key's own id.",
      { reason: "api-key" },
    );
  }
  return {
    idempotencyKey,
    note,
    storeId: emptyToNull(options.storeId),
    partnerId: emptyToNull(options.partnerId),
    externalReference,
    effectiveAt: requestedEffectiveAt ?? now,
    requestedEffectiveAt,
    initiator: {
      type: initiator.type,
      id: initiator.type === "API_KEY" && initiatorId === null ? apiKeyId : initiatorId,
      apiKeyId,
    },
  };
}

/** The latest effective time a deposit can be scheduled for (see `limits.scheduleAheadDays`). */
export function scheduleHorizon(now: Date): Date {
  return new Date(now.getTime() + limits.scheduleAheadDays * 86_400_000);
}

export function checkDate(
  value: Date,
  field: string,
  code: "INVALID_EFFECTIVE_AT" | "INVALID_EXPIRES_AT",
): LedgerFailure | null {
  const time = value instanceof Date ? value.getTime() : Number.NaN;
  // Year 1970 to 9999: the range both engines store and every client can print.
  if (!Number.isFinite(time) || time < 0 || time > 253_402_300_799_999) {
    return failure(code, field, "The time is not a valid date between 1970 and 9999.");
  }
  return null;
}

export function checkPriority(priority: number | null | undefined, field = "priority"): number | LedgerFailure {
  const value = priority ?? 50;
  if (!Number.isInteger(value) || value < limits.minPriority || value > limits.maxPriority) {
    return failure(
      "INVALID_PRIORITY",
      field,
      `The priority must be a whole number from ${limits.minPriority} to ${limits.maxPriority}; lower is spent first.`,
      { value: String(value), min: String(limits.minPriority), max: String(limits.maxPriority) },
    );
  }
  return value;
}

const currencyPattern = /^[A-Z][A-Z0-9]{2,11}$/;

/** ISO 4217 codes (USD) and credit units (PTS, CREDITS); case-insensitive in, upper case out. */
export function checkCurrency(currency: string | null | undefined): string | LedgerFailure {
  const value = (currency ?? "").trim().toUpperCase();
  if (!currencyPattern.test(value)) {
    return failure(
      "INVALID_CURRENCY",
      "currency",
      "The currency must be an ISO 4217 code such as USD or a credit unit such as PTS: 3 to 12 letters or digits, starting with a letter.",
      { value: (currency ?? "").slice(0, 40) },
    );
  }
  return value;
}

export function checkName(
  name: string | null | undefined,
  field = "name",
  required = true,
): string | null | LedgerFailure {
  const value = emptyToNull(name?.trim());
  if (value === null) {
    return required ? failure("INVALID_NAME", field, "A name is required.") : null;
  }
  if (!isStorableText(value)) return unstorable(field);
  if ([...value].length > limits.nameLength) {
    return failure("INVALID_NAME", field, `The name may have at most ${limits.nameLength} characters.`, {
      max: String(limits.nameLength),
    });
  }
  return value;
}

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function checkEmail(email: string | null | undefined): string | null | LedgerFailure {
  const value = emptyToNull(email?.trim());
  if (value === null) return null;
  if (!isStorableText(value)) return unstorable("email");
  if (value.length > limits.emailLength || !emailPattern.test(value)) {
    return failure("INVALID_EMAIL", "email", "The email address is not valid.");
  }
  return value;
}

export function checkExternalId(externalId: string | null | undefined, field = "externalId"): string | LedgerFailure {
  const value = emptyToNull(externalId?.trim());
  if (value !== null && !isStorableText(value)) return unstorable(field);
  if (value === null || value.length > limits.externalIdLength) {
    return failure(
      "INVALID_EXTERNAL_ID",
      field,
      `The external id must have 1 to ${limits.externalIdLength} characters.`,
      { max: String(limits.externalIdLength) },
    );
  }
  return value;
}

/** The form of a note (and of a note query) that note search compares: case and width folded. */
export function foldForSearch(text: string): string {
  return text.normalize("NFKC").toLocaleLowerCase("und");
}

export function emptyToNull(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === "" ? null : value;
}
