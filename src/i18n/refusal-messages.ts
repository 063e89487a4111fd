// Messages of refusals that are written in English where they arise (in graphql-js, GraphQL Armor, Yoga, the
// scalars and the gateway's guards), in the other supported languages. The gateway translates such an error
// by its code at the end of the request (src/server/error-presentation.ts), or when it refuses a request
// before GraphQL runs (src/server/guards/refusal.ts), so that every message follows the negotiated language.
//
// English needs no entry: the English message from the source is kept, with its details. A translation says
// the same thing with the details the code's params carry; what graphql-js says about a document (a field it
// does not know, a syntax error) names schema members and positions that no translation can improve on, so
// those keep their English detail after a translated lead-in.
import { int64Max, int64Min } from "../ledger/amounts.ts";
import { csrfHeaders } from "../server/guards/browser-security.ts";
import { dateTimeFormsCs, translateError } from "./messages.ts";
import type { Language } from "./languages.ts";

type Params = Readonly<Record<string, string | undefined>>;
type Message = (params: Params, english: string) => string;

/** Codes whose top-level errors are written in English at their source. */
export const englishSourceCodes = [
  "INVALID_AMOUNT",
  "AMOUNT_OUT_OF_RANGE",
  "INVALID_DATE_TIME",
  "INVALID_VARIABLES",
  "BAD_REQUEST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "INTERNAL_SERVER_ERROR",
  "QUERY_TOO_DEEP",
  "TOO_MANY_ALIASES",
  "TOO_MANY_TOKENS",
  "TOO_MANY_DIRECTIVES",
  "QUERY_TOO_COSTLY",
  "QUERY_TOO_COMPLEX",
  "RATE_LIMITED",
  "MAINTENANCE",
  "OVERLOADED",
  "CSRF_HEADER_REQUIRED",
  "REQUEST_ENTITY_TOO_LARGE",
  "NOT_ACCEPTABLE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_MISMATCH",
  "PERSISTED_QUERY_ONLY",
  "PERSISTED_QUERY_ID_REQUIRED",
  "TOO_MANY_SUBSCRIPTIONS",
] as const;

type EnglishSourceCode = (typeof englishSourceCodes)[number];

const limit = (p: Params, what: string) =>
  p.limit !== undefined
    ? `${what} je nejvýše ${p.limit}${p.found !== undefined ? `, dotaz jich má ${p.found}` : ""}.`
    : `${what} je překročen.`;

const sendDigitsCs = "pošlete částku jako řetězec číslic v JSON, například „1250“ nebo „-50“";

/**
 * The Amount scalar's refusals (src/schema/scalars.ts), one per reason its English message gives, each with the
 * value as sent. Without a reason (a refusal from elsewhere) the API's catalog message (src/i18n/messages.ts).
 */
function amountCs(p: Params): string {
  const value = p.value ?? "";
  switch (p.reason) {
    case "syntax":
      return `Částka musí být celé číslo v nejmenších jednotkách měny zapsané jen číslicemi (bez desetinné části, exponentu, znaménka „+“, „-0“, mezer a úvodních nul); zadáno „${value}“; ${sendDigitsCs}.`;
    case "negative-zero":
      return `Částka ${value} není celé číslo v jediném platném zápisu: nula se píše „0“; ${sendDigitsCs}.`;
    case "fraction":
      return `Částka musí být celé číslo v nejmenších jednotkách měny; zadáno ${value}; ${sendDigitsCs}.`;
    case "unsafe-number":
      return `Částka ${value} je příliš velká na to, aby byla jako číslo JSON přesná (mimo ±${Number.MAX_SAFE_INTEGER}); ${sendDigitsCs}.`;
    case "unsafe-literal":
      return `Částka ${value} je příliš velká na to, aby byla jako číselný literál přesná (mimo ±${Number.MAX_SAFE_INTEGER}); ${sendDigitsCs}.`;
    case "type":
      return `Částka musí být řetězec číslic; zadáno ${value}; ${sendDigitsCs}.`;
    default:
      return translateError({ code: "INVALID_AMOUNT", params: p as Record<string, string>, message: "" }, "cs");
  }
}

/** What a value of each JSON type is called after "zadáno:" (the English message says "got number 12345"). */
const jsonKindCs: Record<string, string> = {
  number: "číslo",
  boolean: "pravdivostní hodnota",
  object: "objekt",
  list: "seznam",
};

/**
 * The DateTime scalar's refusals (src/schema/scalars.ts and src/time/date-time.ts), one per reason its English
 * message gives, each with the value as sent. Without a reason the API's catalog message.
 */
function dateTimeCs(p: Params): string {
  const value = p.value ?? "";
  const impossible = (why: string) => `„${value}“ není skutečné datum a čas: ${why}.`;
  switch (p.reason) {
    case "syntax":
      return `Hodnota DateTime musí být ${dateTimeFormsCs}; zadáno „${value}“.`;
    case "type":
      return `Hodnota DateTime musí být řetězec, ${dateTimeFormsCs}; zadáno: ${p.kind !== undefined && jsonKindCs[p.kind] ? `${jsonKindCs[p.kind]} ` : ""}${value}.`;
    case "month":
      return impossible("měsíc musí být 01 až 12");
    case "day":
      // 28 to 31 days: always the "many" form, "dní".
      return impossible(`den ${p.day} v měsíci ${p.month} neexistuje, ten má ${p.days} dní`);
    case "hour":
      return impossible("hodina musí být 00 až 23");
    case "minute":
      return impossible("minuta musí být 00 až 59");
    case "second":
      return impossible("sekunda musí být 00 až 59");
    case "offset":
      return impossible("posun musí být nejvýše ±23:59");
    default:
      return translateError({ code: "INVALID_DATE_TIME", params: p as Record<string, string>, message: "" }, "cs");
  }
}

const czech: Record<Exclude<EnglishSourceCode, `PERSISTED_QUERY_${string}`>, Message> = {
  INVALID_AMOUNT: (p) => amountCs(p),
  AMOUNT_OUT_OF_RANGE: (p) =>
    p.value !== undefined
      ? `Částka ${p.value} leží mimo 64bitový rozsah, který systém kreditů eviduje (${int64Min} až ${int64Max}).`
      : translateError({ code: "AMOUNT_OUT_OF_RANGE", params: p as Record<string, string>, message: "" }, "cs"),
  INVALID_DATE_TIME: (p) => dateTimeCs(p),
  // graphql-js's detail names the type, the field or the value at fault, which no translation improves on: kept
  // after the Czech lead-in, as for the document's own errors.
  INVALID_VARIABLES: (_p, english) => `Hodnota proměnné neodpovídá jejímu typu: ${english}`,
  BAD_REQUEST: (_p, english) => `Chybně sestavený požadavek (${english})`,
  GRAPHQL_PARSE_FAILED: (_p, english) => `Dotaz nelze přečíst: ${english}`,
  GRAPHQL_VALIDATION_FAILED: (_p, english) => `Dotaz neodpovídá schématu API: ${english}`,
  INTERNAL_SERVER_ERROR: () => "Neočekávaná chyba.",
  QUERY_TOO_DEEP: (p) => limit(p, "Limit hloubky dotazu"),
  TOO_MANY_ALIASES: (p) => limit(p, "Počet aliasů v operaci"),
  TOO_MANY_TOKENS: (p) => limit(p, "Počet tokenů v dokumentu"),
  TOO_MANY_DIRECTIVES: (p) => limit(p, "Počet direktiv v operaci"),
  QUERY_TOO_COSTLY: (p) =>
    `${
      p.requested !== undefined && p.maximum !== undefined
        ? `Dotaz stojí ${p.requested}, víc než povolených ${p.maximum}; `
        : "Dotaz je příliš nákladný; "
    }požádejte o menší stránky (first/last) nebo méně vnořených spojení.`,
  QUERY_TOO_COMPLEX: () =>
    "Dotaz je příliš složitý na to, aby šla odhadnout jeho cena (rozvine se do příliš mnoha polí, např. fragmenty vloženými do fragmentů); zjednodušte jej.",
  RATE_LIMITED: (p) =>
    `Příliš mnoho požadavků${p.limit !== undefined ? `: limit je ${p.limit} za časové okno` : ""}; zkuste to znovu${p.retryAfter !== undefined ? ` za ${p.retryAfter} s` : " později"}.`,
  MAINTENANCE: () => "Služba je kvůli údržbě mimo provoz; zkuste to znovu později.",
  OVERLOADED: () => "Služba je přetížená; zkuste to znovu za chvíli.",
  CSRF_HEADER_REQUIRED: () =>
    `Tento požadavek by mohl pocházet z cizího formuláře: pošlete jej jako JSON, nebo přidejte jednu z hlaviček ${csrfHeaders.join(", ")}.`,
  REQUEST_ENTITY_TOO_LARGE: () => "Tělo požadavku je větší, než API přijímá.",
  // A subscription's refusal names the stream types alone; any other names the JSON types and the stream.
  NOT_ACCEPTABLE: (p) =>
    p.accepted !== undefined && !p.accepted.includes("application/json")
      ? `Odběr se posílá jako proud událostí a žádný z typů médií v hlavičce Accept mu neodpovídá; přijměte ${p.accepted.split(", ").join(" nebo ")}.`
      : "Žádný z typů médií v hlavičce Accept API neumí poslat; přijměte application/json nebo application/graphql-response+json, případně text/event-stream (ten potřebuje odběr).",
  TOO_MANY_SUBSCRIPTIONS: (p) =>
    p.scope === "key"
      ? `Tento klíč API už má otevřeno nejvíc odběrů, kolik smí (${p.limit ?? "?"}); nejprve některý ukončete.`
      : `Tato instance obsluhuje nejvýše ${p.limit ?? "?"} odběrů najednou; zkuste to znovu za chvíli.`,
};

// Clients recognise PERSISTED_QUERY_NOT_FOUND by its code (older Apollo Clients also by the English message,
// which an English request keeps), so the translation only has to explain it to a person.
const czechPersistedOperations = {
  PERSISTED_QUERY_NOT_FOUND: () => "Dokument s tímto identifikátorem není registrován; pošlete jeho text (APQ).",
  PERSISTED_QUERY_MISMATCH: () => "Hash neodpovídá SHA-256 odeslaného dokumentu.",
  PERSISTED_QUERY_ONLY: () =>
    "Toto API přijímá jen registrované dokumenty: pošlete identifikátor dokumentu (extensions.persistedQuery.sha256Hash nebo documentId) místo jeho textu.",
  PERSISTED_QUERY_ID_REQUIRED: () =>
    "Požadavek neuvádí žádný dokument: pošlete identifikátor dokumentu (extensions.persistedQuery.sha256Hash nebo documentId).",
};

const catalogs: Partial<Record<Language, Record<EnglishSourceCode, Message>>> = {
  cs: { ...czech, ...czechPersistedOperations },
};

export function isEnglishSourceCode(code: unknown): code is EnglishSourceCode {
  return typeof code === "string" && (englishSourceCodes as readonly string[]).includes(code);
}

/**
 * The refusal's message in the language, or the English one unchanged (English, or a code without a
 * translation). `params` carries the details the code's messages use: `limit`/`found` for the document limits,
 * `requested`/`maximum` for the cost, `limit`/`retryAfter` for the rate limit.
 */
export function translateRefusal(code: unknown, english: string, language: Language, params: Params = {}): string {
  const catalog = catalogs[language];
  if (!catalog || !isEnglishSourceCode(code)) return english;
  return catalog[code](params, english);
}

/** The numbers a limit's English message states ("limit of 12 exceeded, found 14"), as params. */
export function limitParams(english: string): Params {
  const match = /limit of (\d+) exceeded, found (\d+)/i.exec(english);
  return match ? { limit: match[1], found: match[2] } : {};
}
