// Texts the API shows people, in every supported language: error messages by stable code (the ledger's codes
// and the API's own), and the names of action types and entry directions. Clients branch on codes; these
// texts are for the people in front of them, so each one is written for its language rather than assembled
// from English fragments.
import type { ActionType, EntryDirection } from "../generated/postgres/enums.ts";
import { int64Max, int64Min } from "../ledger/amounts.ts";
import { ledgerErrorCodes, type LedgerErrorCode } from "../ledger/result.ts";
import { limits } from "../ledger/validation.ts";
import { dateTimeForms } from "../time/date-time.ts";
import { type Language, supportedLanguages, toLanguage } from "./languages.ts";

/**
 * Codes of refusals that come from the API layer rather than the ledger, with the params their messages use
 * (every param is optional; a message without it is less specific, never wrong):
 * - PAGE_SIZE_OUT_OF_RANGE: `argument` ("first" or "last"), `value`, `min`, `max`.
 * - INVALID_CURSOR: `argument` ("after" or "before").
 * - INVALID_PAGINATION: `first` and `last` (or `after` and `before`) do not fit together; or `reason`
 *   "page-start" (history's `page` below 1, with `value`) or "page-alone" (`page` with more than `first`).
 * - INVALID_ID: `id`, `expectedType` (the GraphQL type the ID should name), `givenType` (the type a valid
 *   global ID of the wrong type names). A global ID that does not decode or names another type.
 * - NOT_FOUND: `type`, `id`.
 * - INVALID_DATE_TIME: `value`. (The DateTime scalar's own refusals, with a reason, are worded in
 *   src/i18n/refusal-messages.ts.)
 * - INVALID_FILTER: `filter` (the filter's name), `value`, `reason` ("unstorable": a character no text can
 *   hold; "too-long", with `max`).
 * - FORBIDDEN: `scope` (the scope the API key lacks: "read" or "write"). A valid key without the scope the
 *   operation needs, e.g. a read-only key sending a mutation.
 * - INVALID_ARGUMENTS: `arguments` (the names, comma-separated). A field that takes exactly one of several
 *   arguments got both or neither, e.g. `customer` with `id` and `externalId`.
 * - INVALID_REPRESENTATION: `index` (the representation's position), `typename` (what it names, if text),
 *   `accepted` (the entity types, comma-separated). A federation `_entities` representation that is not an
 *   object naming one of the subgraph's entity types in `__typename`.
 */
export const apiErrorCodes = [
  "PAGE_SIZE_OUT_OF_RANGE",
  "INVALID_CURSOR",
  "INVALID_PAGINATION",
  "INVALID_ID",
  "NOT_FOUND",
  "INVALID_DATE_TIME",
  "INVALID_FILTER",
  "OFFSET_OUT_OF_RANGE",
  "INVALID_ORDER",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "INVALID_ARGUMENTS",
  "INVALID_REPRESENTATION",
] as const;

export type ApiErrorCode = (typeof apiErrorCodes)[number];
export type ErrorCode = LedgerErrorCode | ApiErrorCode;

/** Every code a translated message exists for: the ledger's and the API's. */
export const errorCodes: readonly ErrorCode[] = [...ledgerErrorCodes, ...apiErrorCodes];

type Params = Readonly<Record<string, string | undefined>>;
type Message = (params: Params) => string;

/**
 * The accepted forms of a DateTime in Czech, the same examples as the English `dateTimeForms`
 * (src/time/date-time.ts), so that a refusal lists the same forms in either language.
 */
export const dateTimeFormsCs =
  "datum a čas podle ISO 8601, například „2026-03-01T10:00:00+01:00“ nebo „2026-03-01T09:00:00Z“, nebo bez " +
  "posunu, čtené v časovém pásmu organizace: „2026-03-01T10:00:00“, „2026-03-01T10:00“, „2026-03-01 10:00:00“ " +
  "nebo „2026-03-01“ (půlnoc)";

/** A value quoted in an English message. */
function quoteEn(value: string): string {
  return `"${value}"`;
}

/** A value quoted in a Czech message, with Czech quotation marks. */
function quoteCs(value: string): string {
  return `„${value}“`;
}

/**
 * The Czech noun form that goes with a count: 1 znak, 2 až 4 znaky, 0 or 5 and more znaků. Counts that are
 * not whole numbers take the last form, which is also what Czech uses for fractions in running text.
 */
function pluralCs(count: string | undefined, one: string, few: string, many: string): string {
  if (count === undefined || !/^-?[0-9]+$/.test(count)) return many;
  const n = BigInt(count);
  if (n === 1n) return one;
  if (n >= 2n && n <= 4n) return few;
  return many;
}

const maxAmount = int64Max.toString();
const minAmount = int64Min.toString();

const english: Record<ErrorCode, Message> = {
  INVALID_AMOUNT: (p) =>
    `The amount must be a whole number of minor units, sent as a string of digits such as "1250"` +
    (p.value !== undefined && p.value !== "" ? `; got ${quoteEn(p.value)}.` : "."),
  AMOUNT_NOT_POSITIVE: (p) =>
    `The amount must be greater than zero${p.value !== undefined ? `; got ${p.value}.` : "."}` +
    (p.use === "reduce" && p.amount !== undefined
      ? ` To take credits off, use reduce with the amount ${p.amount}.`
      : p.use === "deposit" && p.amount !== undefined
        ? ` To add credits, use deposit with the amount ${p.amount}.`
        : ""),
  AMOUNT_OUT_OF_RANGE: (p) =>
    `The amount must lie within the 64-bit range, from ${minAmount} to ${p.max ?? maxAmount}.`,
  BALANCE_OUT_OF_RANGE: (p) =>
    p.effectiveAt !== undefined && p.balance !== undefined && p.amount !== undefined
      ? `At ${p.effectiveAt} or later the balance would exceed the largest amount the ledger can hold (${p.max ?? maxAmount}): it reaches ${p.balance} from then on, and ${p.amount} were to be added.`
      : `The balance would exceed the largest amount the ledger can hold (${p.max ?? maxAmount}).`,
  INSUFFICIENT_CREDITS: (p) =>
    p.available !== undefined && p.requested !== undefined
      ? p.effectiveAt !== undefined
        ? `At ${p.effectiveAt} the account has ${p.available}${p.currency ? ` ${p.currency}` : ""} available (keeping every later balance within its limit); ${p.requested} ${p.requested === "1" ? "was" : "were"} requested.`
        : `The account has ${p.available}${p.currency ? ` ${p.currency}` : ""} available; ${p.requested} ${p.requested === "1" ? "was" : "were"} requested.`
      : "The account does not have enough credits available.",
  CUSTOMER_NOT_FOUND: () => "No customer with this id exists.",
  ACCOUNT_NOT_FOUND: (p) =>
    p.reason === "reversal-side"
      ? "The reversal has no such account: a reversed deposit has no target, a reversed reduction no source."
      : "No credit account with this id exists.",
  ACCOUNT_CLOSED: () => "The credit account is closed; it takes no more actions.",
  ACCOUNT_NOT_EMPTY: (p) =>
    p.scheduled !== undefined
      ? `Scheduled grants will bring ${p.scheduled} into the account; void them before closing.`
      : p.held !== undefined
        ? `Pending holds reserve ${p.held} on the account; capture or release them before closing.`
        : p.balance !== undefined
          ? `The account still holds ${p.balance}; move or reduce it to zero before closing.`
          : "The account still holds credits; move or reduce them to zero before closing.",
  ACCOUNT_ALREADY_CLOSED: () => "The credit account is already closed.",
  CREDITS_HELD: (p) =>
    p.held !== undefined && p.covered !== undefined
      ? `Pending holds reserve ${p.held}${p.currency ? ` ${p.currency}` : ""} on the account; after this change its balance and overdraft would cover only ${p.covered} of them. Capture or release the holds first.`
      : "Pending holds reserve credits this change would take away. Capture or release the holds first.",
  STORE_NOT_FOUND: () => "No store with this id exists.",
  PARTNER_NOT_FOUND: () => "No partner with this id exists.",
  GRANT_NOT_FOUND: () => "No credit grant with this id exists.",
  GRANT_NOT_ACTIVE: (p) => {
    switch (p.state) {
      case "VOIDED":
        return "The grant is already void.";
      case "EXPIRED":
        return "The grant has expired.";
      case "DEPLETED":
        // Said of a void and of an expiry change alike.
        return "The grant holds no credits any more.";
      case "NOT_YET_EFFECTIVE":
        return `The grant was not yet in effect at the void's effective time${p.effectiveAt ? `; it took effect at ${p.effectiveAt}` : ""}.`;
      case "SCHEDULED":
        return `The grant is scheduled and has not taken effect yet${p.effectiveAt ? ` (it takes effect at ${p.effectiveAt})` : ""}.`;
      default:
        return "The grant is no longer active.";
    }
  },
  ACTION_NOT_FOUND: () => "No credit action with this id exists.",
  HOLD_NOT_FOUND: () => "No credit hold with this id exists.",
  HOLD_NOT_PENDING: (p) => {
    switch (p.state) {
      case "CAPTURED":
        return "The hold is no longer pending: it has been captured.";
      case "RELEASED":
        return "The hold is no longer pending: it has been released.";
      case "EXPIRED":
        return "The hold is no longer pending: it has expired.";
      default:
        return "The hold is no longer pending.";
    }
  },
  BATCH_EMPTY: () => "A batch needs at least one item.",
  BATCH_TOO_LARGE: (p) =>
    p.max !== undefined && p.size !== undefined
      ? `A batch may have at most ${p.max} items; this one has ${p.size}.`
      : "The batch has more items than one batch may have.",
  CAPTURE_EXCEEDS_HOLD: (p) =>
    p.held !== undefined && p.requested !== undefined
      ? `The hold reserves ${p.held}; ${p.requested} cannot be captured from it.`
      : "A capture cannot take more than the hold reserves.",
  CURRENCY_MISMATCH: (p) =>
    p.source !== undefined && p.target !== undefined
      ? `The accounts hold different currencies (${p.source} and ${p.target}).`
      : "The accounts hold different currencies.",
  SAME_ACCOUNT: () => "A transfer needs two different accounts.",
  ALREADY_REVERSED: () => "This action has already been reversed.",
  NOT_REVERSIBLE: (p) =>
    p.reason === "scheduled"
      ? "The deposit is scheduled and has not taken effect; void its grant instead."
      : "Only deposits, reductions and transfers can be reversed" +
        (isActionType(p.type) ? ` (this action is of type ${actionTypeName(p.type, "en")}).` : "."),
  EXTERNAL_ID_TAKEN: (p) =>
    p.kind === "customer" || p.kind === "store" || p.kind === "partner"
      ? `Another ${p.kind} of this tenant already has this external id.`
      : "Another record of this tenant already has this external id.",
  INVALID_IDEMPOTENCY_KEY: (p) =>
    `The idempotency key must be 1 to ${p.max ?? limits.idempotencyKeyLength} visible ASCII characters without spaces.`,
  // "other-api-key": the stored request came from another API key of the tenant (src/ledger/idempotency.ts).
  IDEMPOTENCY_KEY_REUSED: (p) =>
    p.reason === "other-api-key"
      ? "This idempotency key was already used by another API key of this tenant; an idempotency key belongs to the API key that first used it, so retry with that API key, or use a new idempotency key."
      : "This idempotency key was already used for a different request; use a new key for a new request.",
  INVALID_TEXT: (p) =>
    `${p.field !== undefined ? `The field ${p.field}` : "The text"} contains a character that cannot be stored: the NUL character or invalid Unicode.`,
  INVALID_CURRENCY: (p) =>
    "The currency must be an ISO 4217 code such as USD or a credit unit such as PTS: 3 to 12 letters or digits, starting with a letter" +
    (p.value !== undefined && p.value !== "" ? `; got ${quoteEn(p.value)}.` : "."),
  INVALID_NAME: (p) => (p.max !== undefined ? `The name may have at most ${p.max} characters.` : "A name is required."),
  INVALID_EMAIL: () => "The email address is not valid.",
  INVALID_EXTERNAL_ID: (p) => `The external id must have 1 to ${p.max ?? limits.externalIdLength} characters.`,
  INVALID_TIME_ZONE: (p) =>
    p.value !== undefined
      ? `${quoteEn(p.value)} is not an IANA time zone such as Europe/Prague.`
      : "The time zone must be an IANA time zone such as Europe/Prague.",
  INVALID_LOCALE: () => "The default locale must be an ISO 639-1 code such as en or cs.",
  NOTE_TOO_LONG: (p) => `The note may have at most ${p.max ?? limits.noteLength} characters.`,
  EXTERNAL_REFERENCE_TOO_LONG: (p) =>
    `The external reference may have at most ${p.max ?? limits.externalReferenceLength} characters.`,
  // The ledger sends `now` only when the time is valid but in the future; without it the time is no date at all.
  INVALID_EFFECTIVE_AT: (p) =>
    p.hold !== undefined
      ? "Holds take effect when they are recorded; they cannot be backdated."
      : p.reason === "backdated"
        ? "An expiry change takes effect when it is recorded; it cannot be backdated."
        : p.reason === "too-far-ahead"
          ? `A deposit can be scheduled at most ${p.days ?? limits.scheduleAheadDays} days ahead${p.latest ? `, until ${p.latest}` : ""}.`
          : p.now !== undefined
            ? "The effective time may not be in the future; actions take effect when they are recorded or earlier."
            : "The effective time is not a valid date between 1970 and 9999.",
  // Likewise `value` marks an expiry that is a valid date but not later than the effective time.
  INVALID_EXPIRES_AT: (p) =>
    p.value !== undefined
      ? p.grantEffectiveAt !== undefined
        ? `The expiry must be later than the grant's effective time (${p.grantEffectiveAt}).`
        : "The expiry must be later than now and than the effective time."
      : "The expiry is not a valid date between 1970 and 9999.",
  INVALID_PRIORITY: (p) =>
    `The priority must be a whole number from ${p.min ?? limits.minPriority} to ${p.max ?? limits.maxPriority}; lower is spent first.`,
  INVALID_OVERDRAFT_LIMIT: (p) =>
    `The overdraft limit must be zero or more${p.value !== undefined ? `; got ${p.value}.` : "."}`,
  INVALID_INITIATOR: (p) =>
    p.reason === "api-key"
      ? "An API_KEY initiator is always the API key that sends the request; omit the id, or send that key's own id."
      : p.max !== undefined
        ? `The initiator id may have at most ${p.max} characters.`
        : "A user initiator needs the user's id.",
  INVALID_SEQUENCE: (p) =>
    `The expected sequence must be a whole number, 0 or more (the account's number of entries)${p.value !== undefined ? `; got ${p.value}.` : "."}`,
  INVALID_EXPECTED: (p) =>
    p.reason === "impossible"
      ? p.floor !== undefined
        ? `${p.field ?? "expected.balance"} can never be ${p.value ?? "this"}: no balance is below ${p.floor} (minus the largest overdraft limit).`
        : `${p.field ?? "expected.held"} can never be negative (it is what pending holds reserve)${p.value !== undefined ? `; got ${p.value}.` : "."}`
      : `${p.field ?? "expected"} names no state to expect: give balance, sequence or held (as last read), or leave ${p.field ?? "expected"} out for an unconditional write.`,
  ACCOUNT_CHANGED: (p) =>
    (p.balance !== undefined && p.sequence !== undefined
      ? `The account has changed since it was read: its balance is ${p.balance}, its sequence ${p.sequence}` +
        (p.held !== undefined ? ` and its held amount ${p.held}` : "") +
        (p.expectedBalance !== undefined ? `; expected balance ${p.expectedBalance}` : "") +
        (p.expectedSequence !== undefined ? `; expected sequence ${p.expectedSequence}` : "") +
        (p.expectedHeld !== undefined ? `; expected held ${p.expectedHeld}` : "") +
        "."
      : "The account has changed since it was read.") +
    " Nothing was written; read the account again and decide afresh.",
  LEDGER_BUSY: () =>
    "The ledger is busy with concurrent writes to the same accounts; nothing was written. Retry the request (with the same idempotency key).",

  PAGE_SIZE_OUT_OF_RANGE: (p) =>
    (p.argument !== undefined ? `The argument ${p.argument}` : "The page size") +
    (p.max !== undefined
      ? ` must be a whole number from ${p.min ?? "0"} to ${p.max}`
      : " is out of the allowed range") +
    (p.value !== undefined ? `; got ${p.value}.` : "."),
  INVALID_CURSOR: (p) =>
    `${p.argument !== undefined ? `The cursor in ${p.argument}` : "The cursor"} is not valid for this list; ` +
    "use a cursor this list returned with the same filters and order.",
  INVALID_PAGINATION: (p) =>
    p.reason === "page-start"
      ? `Pages are numbered from 1${p.value !== undefined ? `; got ${p.value}` : ""}.`
      : p.reason === "page-alone"
        ? "page goes with first only: not with offset, after, before or last."
        : "The pagination arguments do not fit together: page forward with first and after, or backward with last and before.",
  INVALID_ID: (p) =>
    p.givenType !== undefined && p.expectedType !== undefined
      ? `This is the global ID of a ${p.givenType}, not of a ${p.expectedType}; send the ID of a ${p.expectedType}.`
      : (p.id !== undefined ? `${quoteEn(p.id)} is not a valid global ID` : "The ID is not a valid global ID") +
        (p.expectedType !== undefined ? ` of a ${p.expectedType}.` : "."),
  NOT_FOUND: (p) => (p.type !== undefined ? `No ${p.type} with this ID exists.` : "No object with this ID exists."),
  INVALID_DATE_TIME: (p) =>
    `${p.value !== undefined ? `${quoteEn(p.value)} is not a valid date and time. ` : ""}Send ${dateTimeForms}.`,
  INVALID_FILTER: (p) =>
    p.reason === "unstorable"
      ? `The filter ${p.filter ?? ""} contains a character that cannot be stored: the NUL character or invalid Unicode.`
      : p.reason === "too-long"
        ? `The filter ${p.filter ?? ""} may have at most ${p.max} characters.`
        : (p.filter !== undefined ? `The filter ${p.filter} is not valid` : "The filter is not valid") +
          (p.value !== undefined ? `: ${quoteEn(p.value)}.` : "."),
  OFFSET_OUT_OF_RANGE: (p) =>
    `The offset must be a whole number of zero or more${p.value !== undefined ? `; got ${p.value}` : ""}.`,
  INVALID_ORDER: () => "The order is not valid: give one of the order fields and ASC or DESC.",
  UNAUTHENTICATED: () => "This needs a valid API key: send it as Authorization: Bearer <key> or X-Api-Key: <key>.",
  INVALID_ARGUMENTS: (p) =>
    p.arguments !== undefined
      ? `Give exactly one of the arguments ${p.arguments}, not both and not none.`
      : "Give exactly one of the field's alternative arguments.",
  INVALID_REPRESENTATION: (p) =>
    `${p.index !== undefined ? `The _entities representation at index ${p.index}` : "An _entities representation"}` +
    (p.typename !== undefined
      ? ` names the type ${quoteEn(p.typename)}, which is not an entity of this subgraph`
      : " is not an object with an entity type of this subgraph in __typename") +
    (p.accepted !== undefined
      ? `; the entity types are: ${p.accepted}.`
      : "; give the name of one of its entity types."),
  FORBIDDEN: (p) => {
    switch (p.scope) {
      case "write":
        return "This API key is read-only: it may not run mutations, and nothing was written. Use a key with the write scope.";
      case "read":
        return "This API key may not run queries: it does not have the read scope.";
      default:
        return "This API key does not have the scope this operation needs.";
    }
  },
};

const czechKinds: Record<string, string> = {
  customer: "Jiný zákazník",
  store: "Jiná prodejna",
  partner: "Jiný partner",
};

const czech: Record<ErrorCode, Message> = {
  INVALID_AMOUNT: (p) =>
    "Částka musí být celé číslo v nejmenších jednotkách měny, zaslané jako řetězec číslic, například „1250“" +
    (p.value !== undefined && p.value !== "" ? `; zadáno ${quoteCs(p.value)}.` : "."),
  AMOUNT_NOT_POSITIVE: (p) =>
    `Částka musí být větší než nula${p.value !== undefined ? `; zadáno ${p.value}.` : "."}` +
    (p.use === "reduce" && p.amount !== undefined
      ? ` Kredity odečtete operací reduce s částkou ${p.amount}.`
      : p.use === "deposit" && p.amount !== undefined
        ? ` Kredity přičtete operací deposit s částkou ${p.amount}.`
        : ""),
  AMOUNT_OUT_OF_RANGE: (p) => `Částka musí ležet v 64bitovém rozsahu, od ${minAmount} do ${p.max ?? maxAmount}.`,
  BALANCE_OUT_OF_RANGE: (p) =>
    p.effectiveAt !== undefined && p.balance !== undefined && p.amount !== undefined
      ? `K okamžiku ${p.effectiveAt} nebo později by zůstatek překročil nejvyšší částku, kterou lze na účtu evidovat (${p.max ?? maxAmount}): od té doby dosahuje ${p.balance} a přičíst se mělo ${p.amount}.`
      : `Zůstatek by překročil nejvyšší částku, kterou lze na účtu evidovat (${p.max ?? maxAmount}).`,
  INSUFFICIENT_CREDITS: (p) =>
    p.available !== undefined && p.requested !== undefined
      ? p.effectiveAt !== undefined
        ? `K okamžiku ${p.effectiveAt} je na účtu k dispozici ${p.available}${p.currency ? ` ${p.currency}` : ""} (tak, aby žádný pozdější zůstatek nepřekročil limit účtu); požadováno bylo ${p.requested}.`
        : `Na účtu je k dispozici ${p.available}${p.currency ? ` ${p.currency}` : ""}; požadováno bylo ${p.requested}.`
      : "Na účtu není k dispozici dost kreditů.",
  CUSTOMER_NOT_FOUND: () => "Zákazník s tímto ID neexistuje.",
  ACCOUNT_NOT_FOUND: (p) =>
    p.reason === "reversal-side"
      ? "Storno takový účet nemá: storno vkladu nemá cílový účet, storno odečtení nemá zdrojový účet."
      : "Kreditní účet s tímto ID neexistuje.",
  ACCOUNT_CLOSED: () => "Kreditní účet je uzavřený; žádné další operace na něm nelze provádět.",
  ACCOUNT_NOT_EMPTY: (p) =>
    p.scheduled !== undefined
      ? `Naplánované dávky kreditů přinesou na účet ${p.scheduled}; před uzavřením je zneplatněte.`
      : p.held !== undefined
        ? `Trvající blokace na účtu rezervují ${p.held}; před uzavřením je zúčtujte nebo uvolněte.`
        : p.balance !== undefined
          ? `Na účtu stále zbývá ${p.balance}; před uzavřením zůstatek převeďte jinam nebo jej odečtěte na nulu.`
          : "Na účtu stále zbývají kredity; před uzavřením je převeďte jinam nebo je odečtěte na nulu.",
  ACCOUNT_ALREADY_CLOSED: () => "Kreditní účet je již uzavřený.",
  CREDITS_HELD: (p) =>
    p.held !== undefined && p.covered !== undefined
      ? `Čekající blokace drží na účtu ${p.held}${p.currency ? ` ${p.currency}` : ""}; po této změně by je zůstatek a přečerpání pokryly jen do výše ${p.covered}. Blokace nejprve zúčtujte nebo uvolněte.`
      : "Čekající blokace drží kredity, které by tato změna odebrala. Blokace nejprve zúčtujte nebo uvolněte.",
  STORE_NOT_FOUND: () => "Prodejna s tímto ID neexistuje.",
  PARTNER_NOT_FOUND: () => "Partner s tímto ID neexistuje.",
  GRANT_NOT_FOUND: () => "Dávka kreditů s tímto ID neexistuje.",
  GRANT_NOT_ACTIVE: (p) => {
    switch (p.state) {
      case "VOIDED":
        return "Dávka kreditů je již zneplatněná.";
      case "EXPIRED":
        return "Platnost dávky kreditů již vypršela.";
      case "DEPLETED":
        return "Dávka kreditů již neobsahuje žádné kredity.";
      case "NOT_YET_EFFECTIVE":
        return `K okamžiku zneplatnění dávka kreditů ještě neplatila${p.effectiveAt ? `; platí od ${p.effectiveAt}` : ""}.`;
      case "SCHEDULED":
        return `Dávka kreditů je naplánovaná a dosud nenabyla účinnosti${p.effectiveAt ? ` (platí od ${p.effectiveAt})` : ""}.`;
      default:
        return "Dávka kreditů již není aktivní.";
    }
  },
  ACTION_NOT_FOUND: () => "Kreditní operace s tímto ID neexistuje.",
  HOLD_NOT_FOUND: () => "Blokace kreditů s tímto ID neexistuje.",
  HOLD_NOT_PENDING: (p) => {
    switch (p.state) {
      case "CAPTURED":
        return "Blokace již netrvá: byla zúčtována.";
      case "RELEASED":
        return "Blokace již netrvá: byla uvolněna.";
      case "EXPIRED":
        return "Blokace již netrvá: vypršela.";
      default:
        return "Blokace již netrvá.";
    }
  },
  BATCH_EMPTY: () => "Dávka musí mít alespoň jednu položku.",
  BATCH_TOO_LARGE: (p) =>
    p.max !== undefined && p.size !== undefined
      ? `Dávka smí mít nejvýše ${p.max} položek; tato jich má ${p.size}.`
      : "Dávka má více položek, než jedna dávka smí mít.",
  CAPTURE_EXCEEDS_HOLD: (p) =>
    p.held !== undefined && p.requested !== undefined
      ? `Blokace rezervuje ${p.held}; nelze z ní zúčtovat ${p.requested}.`
      : "Zúčtovat nelze více, než blokace rezervuje.",
  CURRENCY_MISMATCH: (p) =>
    p.source !== undefined && p.target !== undefined
      ? `Účty jsou vedeny v různých měnách (${p.source} a ${p.target}).`
      : "Účty jsou vedeny v různých měnách.",
  SAME_ACCOUNT: () => "Převod vyžaduje dva různé účty.",
  ALREADY_REVERSED: () => "Tato operace již byla stornována.",
  NOT_REVERSIBLE: (p) =>
    p.reason === "scheduled"
      ? "Vklad je naplánovaný a dosud nenabyl účinnosti; zneplatněte místo toho jeho dávku kreditů."
      : "Stornovat lze pouze vklady, odečtení a převody" +
        (isActionType(p.type) ? ` (tato operace je typu ${actionTypeName(p.type, "cs")}).` : "."),
  EXTERNAL_ID_TAKEN: (p) => `${czechKinds[p.kind ?? ""] ?? "Jiný záznam"} již toto externí ID používá.`,
  INVALID_IDEMPOTENCY_KEY: (p) =>
    `Klíč idempotence musí mít 1 až ${p.max ?? limits.idempotencyKeyLength} ${pluralCs(p.max ?? String(limits.idempotencyKeyLength), "viditelný znak", "viditelné znaky", "viditelných znaků")} ASCII bez mezer.`,
  IDEMPOTENCY_KEY_REUSED: (p) =>
    p.reason === "other-api-key"
      ? "Tento klíč idempotence již použil jiný klíč API této organizace; klíč idempotence patří klíči API, který jej použil jako první, takže opakujte požadavek s tím klíčem API, nebo použijte nový klíč idempotence."
      : "Tento klíč idempotence již byl použit pro jiný požadavek; pro nový požadavek použijte nový klíč.",
  INVALID_TEXT: (p) =>
    `${p.field !== undefined ? `Pole ${p.field}` : "Text"} obsahuje znak, který nelze uložit: znak NUL nebo neplatný Unicode.`,
  INVALID_CURRENCY: (p) =>
    "Měna musí být kód ISO 4217, například CZK, nebo kreditní jednotka, například PTS: 3 až 12 písmen nebo číslic, na začátku písmeno" +
    (p.value !== undefined && p.value !== "" ? `; zadáno ${quoteCs(p.value)}.` : "."),
  INVALID_NAME: (p) =>
    p.max !== undefined
      ? `Jméno může mít nejvýše ${p.max} ${pluralCs(p.max, "znak", "znaky", "znaků")}.`
      : "Jméno je povinný údaj.",
  INVALID_EMAIL: () => "E-mailová adresa není platná.",
  INVALID_EXTERNAL_ID: (p) =>
    `Externí ID musí mít 1 až ${p.max ?? limits.externalIdLength} ${pluralCs(p.max ?? String(limits.externalIdLength), "znak", "znaky", "znaků")}.`,
  INVALID_TIME_ZONE: (p) =>
    p.value !== undefined
      ? `${quoteCs(p.value)} není časové pásmo IANA, jako je například Europe/Prague.`
      : "Časové pásmo musí být pásmo IANA, například Europe/Prague.",
  INVALID_LOCALE: () => "Výchozí jazyk musí být kód ISO 639-1, například cs nebo en.",
  NOTE_TOO_LONG: (p) =>
    `Poznámka může mít nejvýše ${p.max ?? limits.noteLength} ${pluralCs(p.max ?? String(limits.noteLength), "znak", "znaky", "znaků")}.`,
  EXTERNAL_REFERENCE_TOO_LONG: (p) =>
    `Externí reference může mít nejvýše ${p.max ?? limits.externalReferenceLength} ${pluralCs(p.max ?? String(limits.externalReferenceLength), "znak", "znaky", "znaků")}.`,
  INVALID_EFFECTIVE_AT: (p) =>
    p.hold !== undefined
      ? "Blokace nabývá účinnosti při svém zaznamenání; nelze ji zpětně datovat."
      : p.reason === "backdated"
        ? "Změna konce platnosti nabývá účinnosti při svém zaznamenání; nelze ji antedatovat."
        : p.reason === "too-far-ahead"
          ? `Vklad lze naplánovat nejvýše ${p.days ?? limits.scheduleAheadDays} dní dopředu${p.latest ? `, do ${p.latest}` : ""}.`
          : p.now !== undefined
            ? "Okamžik účinnosti nesmí ležet v budoucnosti; operace nabývá účinnosti při svém zaznamenání nebo dříve."
            : "Okamžik účinnosti není platné datum mezi lety 1970 a 9999.",
  INVALID_EXPIRES_AT: (p) =>
    p.value !== undefined
      ? p.grantEffectiveAt !== undefined
        ? `Konec platnosti musí nastat později než začátek platnosti kreditů (${p.grantEffectiveAt}).`
        : "Konec platnosti musí nastat později než nyní a později než okamžik účinnosti."
      : "Konec platnosti není platné datum mezi lety 1970 a 9999.",
  INVALID_PRIORITY: (p) =>
    `Priorita musí být celé číslo od ${p.min ?? limits.minPriority} do ${p.max ?? limits.maxPriority}; kredity s nižší prioritou se čerpají dříve.`,
  INVALID_OVERDRAFT_LIMIT: (p) =>
    `Limit přečerpání musí být nula nebo více${p.value !== undefined ? `; zadáno ${p.value}.` : "."}`,
  INVALID_INITIATOR: (p) =>
    p.reason === "api-key"
      ? "Iniciátorem typu API_KEY je vždy API klíč, který požadavek posílá; ID vynechte, nebo pošlete vlastní ID tohoto klíče."
      : p.max !== undefined
        ? `ID iniciátora může mít nejvýše ${p.max} ${pluralCs(p.max, "znak", "znaky", "znaků")}.`
        : "Iniciátor typu uživatel vyžaduje ID uživatele.",
  INVALID_SEQUENCE: (p) =>
    `Očekávané pořadové číslo musí být celé číslo od 0 výše (počet záznamů účtu)${p.value !== undefined ? `; zadáno ${p.value}.` : "."}`,
  INVALID_EXPECTED: (p) =>
    p.reason === "impossible"
      ? p.floor !== undefined
        ? `${p.field ?? "expected.balance"} nemůže být nikdy ${p.value ?? "takový"}: žádný zůstatek neklesne pod ${p.floor} (záporný nejvyšší limit přečerpání).`
        : `${p.field ?? "expected.held"} nemůže být nikdy záporné (je to částka rezervovaná čekajícími blokacemi)${p.value !== undefined ? `; zadáno ${p.value}.` : "."}`
      : `${p.field ?? "expected"} neuvádí žádný očekávaný stav: zadejte balance, sequence nebo held (jak byly přečteny), nebo ${p.field ?? "expected"} vynechte pro nepodmíněný zápis.`,
  ACCOUNT_CHANGED: (p) =>
    (p.balance !== undefined && p.sequence !== undefined
      ? `Účet se od přečtení změnil: jeho zůstatek je ${p.balance}, pořadové číslo ${p.sequence}` +
        (p.held !== undefined ? ` a blokovaná částka ${p.held}` : "") +
        (p.expectedBalance !== undefined ? `; očekávaný zůstatek ${p.expectedBalance}` : "") +
        (p.expectedSequence !== undefined ? `; očekávané pořadové číslo ${p.expectedSequence}` : "") +
        (p.expectedHeld !== undefined ? `; očekávaná blokovaná částka ${p.expectedHeld}` : "") +
        "."
      : "Účet se od přečtení změnil.") + " Nic nebylo zapsáno; načtěte účet znovu a rozhodněte znovu.",
  LEDGER_BUSY: () =>
    "Systém kreditů je zaneprázdněn souběžnými zápisy na stejné účty; nic nebylo zapsáno. Opakujte požadavek (se stejným klíčem idempotence).",

  PAGE_SIZE_OUT_OF_RANGE: (p) =>
    (p.argument !== undefined ? `Argument ${p.argument}` : "Velikost stránky") +
    (p.max !== undefined ? ` musí být celé číslo od ${p.min ?? "0"} do ${p.max}` : " je mimo povolený rozsah") +
    (p.value !== undefined ? `; zadáno ${p.value}.` : "."),
  INVALID_CURSOR: (p) =>
    `${p.argument !== undefined ? `Kurzor v argumentu ${p.argument}` : "Kurzor"} není pro tento seznam platný; ` +
    "použijte kurzor, který tento seznam vrátil se stejnými filtry a řazením.",
  INVALID_PAGINATION: (p) =>
    p.reason === "page-start"
      ? `Stránky se číslují od 1${p.value !== undefined ? `; zadáno ${p.value}` : ""}.`
      : p.reason === "page-alone"
        ? "Argument page lze použít jen s first, ne s offset, after, before ani last."
        : "Argumenty stránkování k sobě nepasují: dopředu se stránkuje pomocí first a after, dozadu pomocí last a before.",
  INVALID_ID: (p) =>
    p.givenType !== undefined && p.expectedType !== undefined
      ? `Toto je globální ID objektu typu ${p.givenType}, ne objektu typu ${p.expectedType}; zadejte ID objektu typu ${p.expectedType}.`
      : (p.id !== undefined ? `${quoteCs(p.id)} není platné globální ID` : "ID není platné globální ID") +
        (p.expectedType !== undefined ? ` objektu typu ${p.expectedType}.` : "."),
  NOT_FOUND: (p) =>
    p.type !== undefined ? `Objekt typu ${p.type} s tímto ID neexistuje.` : "Objekt s tímto ID neexistuje.",
  INVALID_DATE_TIME: (p) =>
    `${p.value !== undefined ? `${quoteCs(p.value)} není platné datum a čas. ` : ""}Zadejte ${dateTimeFormsCs}.`,
  INVALID_FILTER: (p) =>
    p.reason === "unstorable"
      ? `Filtr ${p.filter ?? ""} obsahuje znak, který nelze uložit: znak NUL nebo neplatný Unicode.`
      : p.reason === "too-long"
        ? `Filtr ${p.filter ?? ""} smí mít nejvýše ${p.max} ${pluralCs(p.max, "znak", "znaky", "znaků")}.`
        : (p.filter !== undefined ? `Filtr ${p.filter} není platný` : "Filtr není platný") +
          (p.value !== undefined ? `: ${quoteCs(p.value)}.` : "."),
  OFFSET_OUT_OF_RANGE: (p) =>
    `Posun (offset) musí být celé číslo nula nebo větší${p.value !== undefined ? `; zadáno ${p.value}` : ""}.`,
  INVALID_ORDER: () => "Řazení není platné: zadejte jedno z polí řazení a ASC nebo DESC.",
  UNAUTHENTICATED: () =>
    "K tomu je potřeba platný API klíč: pošlete ho jako Authorization: Bearer <klíč> nebo X-Api-Key: <klíč>.",
  INVALID_ARGUMENTS: (p) =>
    p.arguments !== undefined
      ? `Zadejte právě jeden z argumentů ${p.arguments}, ne oba a ne žádný.`
      : "Zadejte právě jeden z alternativních argumentů pole.",
  INVALID_REPRESENTATION: (p) =>
    `${p.index !== undefined ? `Reprezentace _entities na pozici ${p.index}` : "Reprezentace _entities"}` +
    (p.typename !== undefined
      ? ` uvádí typ ${quoteCs(p.typename)}, který není entitou tohoto subgrafu`
      : " není objekt s typem entity tohoto subgrafu v poli __typename") +
    (p.accepted !== undefined ? `; typy entit jsou: ${p.accepted}.` : "; uveďte název některého z jeho typů entit."),
  FORBIDDEN: (p) => {
    switch (p.scope) {
      case "write":
        return "Tento API klíč je jen pro čtení: nesmí spouštět mutace a nic nebylo zapsáno. Použijte klíč s oprávněním write.";
      case "read":
        return "Tento API klíč nesmí spouštět dotazy: nemá oprávnění read.";
      default:
        return "Tento API klíč nemá oprávnění, které tato operace vyžaduje.";
    }
  },
};

const catalogs: Record<Language, Record<ErrorCode, Message>> = { en: english, cs: czech };

/** Whether a message for the code exists in the language (a test holds every code to it). */
export function hasTranslation(code: string, language: string): boolean {
  return Object.hasOwn(catalogs[toLanguage(language)], code);
}

/**
 * The error's message in the language (an ISO 639-1 code; unsupported languages get English), with its params
 * filled in. An unknown code keeps the error's own English message, so a code added to the ledger before its
 * translation still says something true.
 */
export function translateError(
  error: { code: string; params: Readonly<Record<string, string>>; message: string },
  language: string,
): string {
  const catalog = catalogs[toLanguage(language)];
  if (!Object.hasOwn(catalog, error.code)) return error.message;
  return catalog[error.code as ErrorCode](error.params);
}

/** The action types in the order of the schema's enum, which is the order matches are returned in. */
export const actionTypes = [
  "DEPOSIT",
  "REDUCTION",
  "TRANSFER",
  "EXPIRATION",
  "VOID",
  "REVERSAL",
  "HOLD",
  "HOLD_RELEASE",
  "HOLD_EXPIRATION",
  "EXPIRATION_CHANGE",
] as const satisfies readonly ActionType[];

/**
 * The name of each action type, first the one shown, then other names people use for it (searched, never
 * shown). Czech says "odečtení" for a reduction in the ledger's terms, but shop staff call spending credits
 * "čerpání", so both find it.
 */
const actionTypeNames: Record<Language, Record<ActionType, readonly [string, ...string[]]>> = {
  en: {
    DEPOSIT: ["Deposit"],
    REDUCTION: ["Reduction"],
    TRANSFER: ["Transfer"],
    EXPIRATION: ["Expiration"],
    VOID: ["Void"],
    REVERSAL: ["Reversal"],
    HOLD: ["Hold", "Authorization"],
    HOLD_RELEASE: ["Hold release"],
    HOLD_EXPIRATION: ["Hold expiration"],
    EXPIRATION_CHANGE: ["Expiry change", "Expiration change"],
  },
  cs: {
    DEPOSIT: ["Vklad"],
    REDUCTION: ["Odečtení", "Čerpání"],
    TRANSFER: ["Převod"],
    EXPIRATION: ["Expirace"],
    VOID: ["Zneplatnění"],
    REVERSAL: ["Storno"],
    HOLD: ["Blokace", "Autorizace"],
    HOLD_RELEASE: ["Uvolnění blokace"],
    HOLD_EXPIRATION: ["Vypršení blokace"],
    EXPIRATION_CHANGE: ["Změna platnosti", "Prodloužení platnosti", "Zkrácení platnosti"],
  },
};

const directionNames: Record<Language, Record<EntryDirection, string>> = {
  en: { CREDIT: "Credit", DEBIT: "Debit" },
  cs: { CREDIT: "Připsání", DEBIT: "Odepsání" },
};

function isActionType(value: string | undefined): value is ActionType {
  return (actionTypes as readonly string[]).includes(value ?? "");
}

/** The action type's name in the language (unsupported languages get English). */
export function actionTypeName(type: ActionType, language: string): string {
  return actionTypeNames[toLanguage(language)][type][0];
}

/** The entry direction's name in the language (unsupported languages get English). */
export function directionName(direction: EntryDirection, language: string): string {
  return directionNames[toLanguage(language)][direction];
}

/** Lower case without diacritics, so that "PŘEVOD", "převod" and "prevod" compare equal. */
function fold(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

/**
 * The action types whose name contains the text, ignoring case, diacritics and surrounding spaces: CareCloud's
 * `credit_operation_type` filter ("part of the type name"). The names of the given language are searched and
 * those of every other supported language too, because staff of a Czech tenant type English names as often
 * as Czech ones, and without diacritics as often as with them: "prev", "převod" and "trans" all find TRANSFER.
 * An empty text matches every type, as an empty filter should. The result follows the enum's order.
 */
export function actionTypesMatching(text: string, language: string): ActionType[] {
  const needle = fold(text.trim());
  const languages = [toLanguage(language), ...supportedLanguages.filter((other) => other !== toLanguage(language))];
  return actionTypes.filter((type) =>
    languages.some((lang) => actionTypeNames[lang][type].some((name) => fold(name).includes(needle))),
  );
}
