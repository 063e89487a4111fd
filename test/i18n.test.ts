// Tests of language negotiation from Accept-Language and of the translated texts: every error code has an
// English and a Czech message, params are filled in, and action type names are found by any part of any of
// their names. No database.
import { describe, expect, it } from "vitest";
import { negotiateLanguage, parseAcceptLanguage } from "../src/i18n/accept-language.ts";
import { supportedLanguages, toLanguage } from "../src/i18n/languages.ts";
import {
  actionTypeName,
  actionTypes,
  actionTypesMatching,
  apiErrorCodes,
  directionName,
  errorCodes,
  hasTranslation,
  translateError,
} from "../src/i18n/messages.ts";
import { parsePositiveAmount } from "../src/ledger/amounts.ts";
import { isFailure, ledgerErrorCodes } from "../src/ledger/result.ts";
import { checkWriteOptions, limits } from "../src/ledger/validation.ts";

const negotiate = (header: string | null, fallback: "en" | "cs" = "en") =>
  negotiateLanguage(header, supportedLanguages, fallback);

describe("negotiateLanguage", () => {
  it("prefers Czech under CareCloud's default header, whatever the fallback", () => {
    expect(negotiate("cs, en-gb;q=0.8")).toBe("cs");
    expect(negotiate("cs, en-gb;q=0.8", "cs")).toBe("cs");
    // Without Czech, CareCloud's second choice (British English) counts for English.
    expect(negotiate("de, en-gb;q=0.8", "cs")).toBe("en");
  });

  it.each([null, "", "   ", ",", " , ;"])("uses the fallback for the header %j", (header) => {
    expect(negotiate(header, "en")).toBe("en");
    expect(negotiate(header, "cs")).toBe("cs");
  });

  it.each([
    ["cs", "cs"],
    ["CS", "cs"],
    ["cs-CZ", "cs"],
    ["en-GB", "en"],
    ["EN-gb", "en"],
    ["en-US, cs;q=0.9", "en"],
    ["en;q=0.5, cs;q=0.9", "cs"],
    ["en-gb;q=0.8, cs;q=0.7", "en"],
    ["en;q=0.8, cs;q=0.8", "en"],
    ["cs;q=0.8, en;q=0.8", "cs"],
    ["de, fr;q=0.9, cs;q=0.1", "cs"],
    ["cs;q=0.001, en;q=0", "cs"],
    ["  cs ; q=0.5 ,en;q=0.4", "cs"],
    ["cs;Q=0.9, en;q=0.8", "cs"],
    ["cs;q=1.000, en", "cs"],
  ])("answers %j with %s", (header, expected) => {
    expect(negotiate(header, "en")).toBe(expected);
    expect(negotiate(header, "cs")).toBe(expected);
  });

  it("treats q=0 as not acceptable", () => {
    expect(negotiate("cs;q=0, en;q=0.1", "cs")).toBe("en");
    expect(negotiate("cs;q=0.000, *", "cs")).toBe("en");
    expect(negotiate("en;q=0, *;q=0.5", "en")).toBe("cs");
    // A refusal of the language covers its regional forms, and wins over a later acceptance.
    expect(negotiate("en;q=0, en-gb, cs;q=0.1", "en")).toBe("cs");
    expect(negotiate("cs, cs;q=0", "cs")).toBe("cs");
    expect(negotiate("cs, cs;q=0, en;q=0.2", "cs")).toBe("en");
    // Refusing a region does not refuse the language itself.
    expect(negotiate("en-gb;q=0, en;q=0.5, cs;q=0.4", "cs")).toBe("en");
  });

  it("uses the fallback when nothing supported is acceptable", () => {
    expect(negotiate("cs;q=0, en;q=0", "cs")).toBe("cs");
    expect(negotiate("*;q=0", "en")).toBe("en");
    expect(negotiate("de, fr", "cs")).toBe("cs");
  });

  it("lets the wildcard stand for every language not named, preferring the fallback among equals", () => {
    expect(negotiate("*", "cs")).toBe("cs");
    expect(negotiate("*", "en")).toBe("en");
    expect(negotiate("de, *;q=0.5", "cs")).toBe("cs");
    expect(negotiate("de, *;q=0.5", "en")).toBe("en");
    expect(negotiate("en;q=0.4, *;q=0.5", "en")).toBe("cs");
    expect(negotiate("cs;q=0.6, *;q=0.5", "en")).toBe("cs");
    // "*;q=0" refuses everything the header does not accept by name.
    expect(negotiate("cs;q=0.1, *;q=0", "en")).toBe("cs");
  });

  it.each([
    "cs;q=1.5, en;q=0.1",
    "cs;q=abc, en;q=0.1",
    "cs;q=0.1234, en;q=0.1",
    "cs;q=, en;q=0.1",
    "cs;q=-1, en;q=0.1",
    "cs;level=1, en;q=0.1",
    "cs;q=0.9;q=0.9, en;q=0.1",
    "cs_CZ, en;q=0.1",
    "čeština, en;q=0.1",
    "c s, en;q=0.1",
    "cs-, en;q=0.1",
    "toolongtag, en;q=0.1",
  ])("ignores the malformed first part of %j and honours the rest", (header) => {
    expect(negotiate(header, "cs")).toBe("en");
  });

  it("survives garbage", () => {
    expect(negotiate("!!!, ;;;, =, ;q=1, cs", "en")).toBe("cs");
    expect(negotiate("\u0000\u00ff\ud800", "cs")).toBe("cs");
    expect(negotiate(`${"x, ".repeat(10_000)}cs`, "en")).toBe("cs");
    expect(negotiate("q=0.5", "cs")).toBe("cs");
  });

  it("parses ranges with their weights and positions", () => {
    expect(parseAcceptLanguage("cs, en-gb;q=0.8, bad_tag, *;q=0.1")).toEqual([
      { tag: "cs", weight: 1000, position: 0 },
      { tag: "en-gb", weight: 800, position: 1 },
      { tag: "*", weight: 100, position: 3 },
    ]);
  });

  it("works for any list of supported tags", () => {
    expect(negotiateLanguage("en-gb, en;q=0.5", ["en-US", "en-GB"], "en-US")).toBe("en-GB");
    expect(negotiateLanguage("en", ["de", "en-US"], "de")).toBe("en-US");
  });
});

describe("languages", () => {
  it("maps tenant locales and tags to a supported language, English otherwise", () => {
    expect(toLanguage("cs")).toBe("cs");
    expect(toLanguage("cs-CZ")).toBe("cs");
    expect(toLanguage("CS_cz")).toBe("cs");
    expect(toLanguage("de")).toBe("en");
    expect(toLanguage("")).toBe("en");
    expect(toLanguage(null)).toBe("en");
  });
});

// Every param any message uses, so that a filled-in message shows no placeholder left empty.
const fullParams: Record<string, string> = {
  value: "1.5",
  max: "255",
  min: "0",
  available: "500",
  requested: "1200",
  currency: "PTS",
  balance: "700",
  source: "USD",
  target: "CZK",
  state: "EXPIRED",
  type: "EXPIRATION",
  kind: "store",
  now: "2026-03-01T10:00:00.000Z",
  id: "QWNjb3VudDox",
  expectedType: "CreditAccount",
  argument: "first",
  filter: "note",
};

const czechLetters = /[áčďéěíňóřšťúůýž]/i;

describe("error messages", () => {
  const sentinel = "untranslated English default";

  it("has an English and a Czech message for every ledger and API code", () => {
    expect(errorCodes).toEqual([...ledgerErrorCodes, ...apiErrorCodes]);
    for (const code of errorCodes) {
      for (const language of supportedLanguages) {
        expect(hasTranslation(code, language), `${code} in ${language}`).toBe(true);
        for (const params of [{}, fullParams]) {
          const text = translateError({ code, params, message: sentinel }, language);
          expect(text, `${code} in ${language}`).not.toBe(sentinel);
          expect(text).toMatch(/^\S.*[.)]$/);
          expect(text).not.toMatch(/undefined|null|\$\{|NaN|\[object/);
        }
      }
      const english = translateError({ code, params: fullParams, message: sentinel }, "en");
      const czech = translateError({ code, params: fullParams, message: sentinel }, "cs");
      expect(czech, code).not.toBe(english);
      expect(czech, code).toMatch(czechLetters);
    }
  });

  it("defines the API codes", () => {
    expect(apiErrorCodes).toEqual([
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
    ]);
    for (const code of apiErrorCodes) expect(ledgerErrorCodes as readonly string[]).not.toContain(code);
  });

  it("fills in amounts and limits", () => {
    const insufficient = {
      code: "INSUFFICIENT_CREDITS",
      params: { available: "500", requested: "1200", currency: "PTS" },
      message: "",
    };
    expect(translateError(insufficient, "en")).toBe("The account has 500 PTS available; 1200 were requested.");
    expect(translateError(insufficient, "cs")).toBe("Na účtu je k dispozici 500 PTS; požadováno bylo 1200.");
    const huge = { code: "ACCOUNT_NOT_EMPTY", params: { balance: "9223372036854775807" }, message: "" };
    expect(translateError(huge, "cs")).toContain("9223372036854775807");
    const pageSize = {
      code: "PAGE_SIZE_OUT_OF_RANGE",
      params: { argument: "first", min: "0", max: "100", value: "500" },
      message: "",
    };
    expect(translateError(pageSize, "en")).toBe("The argument first must be a whole number from 0 to 100; got 500.");
    expect(translateError(pageSize, "cs")).toBe("Argument first musí být celé číslo od 0 do 100; zadáno 500.");
    const wrongId = { code: "INVALID_ID", params: { id: "abc", expectedType: "Customer" }, message: "" };
    expect(translateError(wrongId, "en")).toBe('"abc" is not a valid global ID of a Customer.');
    expect(translateError(wrongId, "cs")).toBe("„abc“ není platné globální ID objektu typu Customer.");
  });

  it("uses the Czech plural that goes with the number", () => {
    const name = (max: string) => translateError({ code: "INVALID_NAME", params: { max }, message: "" }, "cs");
    expect(name("1")).toBe("Jméno může mít nejvýše 1 znak.");
    expect(name("3")).toBe("Jméno může mít nejvýše 3 znaky.");
    expect(name("200")).toBe("Jméno může mít nejvýše 200 znaků.");
    expect(translateError({ code: "INVALID_NAME", params: {}, message: "" }, "cs")).toBe("Jméno je povinný údaj.");
  });

  it("translates what the ledger actually returns", () => {
    const amount = parsePositiveAmount("1.5");
    if (!isFailure(amount)) throw new Error("expected a refusal");
    expect(translateError(amount.error, "cs")).toBe(
      "Částka musí být celé číslo v nejmenších jednotkách měny, zaslané jako řetězec číslic, například „1250“; zadáno „1.5“.",
    );
    const notPositive = parsePositiveAmount("-5");
    if (!isFailure(notPositive)) throw new Error("expected a refusal");
    expect(translateError(notPositive.error, "en")).toBe("The amount must be greater than zero; got -5.");
    expect(translateError(notPositive.error, "cs")).toBe("Částka musí být větší než nula; zadáno -5.");

    const now = new Date("2026-03-01T10:00:00Z");
    const longNote = checkWriteOptions({ note: "x".repeat(limits.noteLength + 1) }, now);
    if (!isFailure(longNote)) throw new Error("expected a refusal");
    expect(translateError(longNote.error, "en")).toBe(longNote.error.message);
    expect(translateError(longNote.error, "cs")).toBe(`Poznámka může mít nejvýše ${limits.noteLength} znaků.`);

    const future = checkWriteOptions({ effectiveAt: new Date("2026-03-02T00:00:00Z") }, now);
    if (!isFailure(future)) throw new Error("expected a refusal");
    expect(translateError(future.error, "en")).toBe(future.error.message);
    expect(translateError(future.error, "cs")).toMatch(/^Okamžik účinnosti nesmí ležet v budoucnosti/);
    const tooFar = checkWriteOptions({ effectiveAt: new Date("2031-03-02T00:00:00Z") }, now, true);
    if (!isFailure(tooFar)) throw new Error("expected a refusal");
    expect(translateError(tooFar.error, "en")).toBe(tooFar.error.message);
    expect(translateError(tooFar.error, "cs")).toBe(
      "Vklad lze naplánovat nejvýše 1826 dní dopředu, do 2031-03-01T10:00:00.000Z.",
    );
  });

  it("keeps the English default for an unknown code and speaks English for unsupported languages", () => {
    expect(translateError({ code: "SOMETHING_NEW", params: {}, message: "Something new." }, "cs")).toBe(
      "Something new.",
    );
    const closed = { code: "ACCOUNT_CLOSED", params: {}, message: "" };
    expect(translateError(closed, "de")).toBe(translateError(closed, "en"));
    expect(translateError(closed, "cs-CZ")).toBe(
      "Kreditní účet je uzavřený; žádné další operace na něm nelze provádět.",
    );
    expect(hasTranslation("SOMETHING_NEW", "en")).toBe(false);
  });

  it("names the action type a refusal is about in the reader's language", () => {
    const error = { code: "NOT_REVERSIBLE", params: { type: "EXPIRATION" }, message: "" };
    expect(translateError(error, "en")).toBe(
      "Only deposits, reductions and transfers can be reversed (this action is of type Expiration).",
    );
    expect(translateError(error, "cs")).toBe(
      "Stornovat lze pouze vklady, odečtení a převody (tato operace je typu Expirace).",
    );
  });
});

describe("type names", () => {
  it("names every action type and direction in both languages", () => {
    expect(actionTypes.map((type) => actionTypeName(type, "en"))).toEqual([
      "Deposit",
      "Reduction",
      "Transfer",
      "Expiration",
      "Void",
      "Reversal",
      "Hold",
      "Hold release",
      "Hold expiration",
      "Expiry change",
    ]);
    expect(actionTypes.map((type) => actionTypeName(type, "cs"))).toEqual([
      "Vklad",
      "Odečtení",
      "Převod",
      "Expirace",
      "Zneplatnění",
      "Storno",
      "Blokace",
      "Uvolnění blokace",
      "Vypršení blokace",
      "Změna platnosti",
    ]);
    expect(actionTypeName("DEPOSIT", "de")).toBe("Deposit");
    expect([directionName("CREDIT", "en"), directionName("DEBIT", "en")]).toEqual(["Credit", "Debit"]);
    expect([directionName("CREDIT", "cs"), directionName("DEBIT", "cs")]).toEqual(["Připsání", "Odepsání"]);
  });

  it.each([
    ["prev", ["TRANSFER"]],
    ["převod", ["TRANSFER"]],
    ["PŘEVOD", ["TRANSFER"]],
    ["trans", ["TRANSFER"]],
    ["Transfer", ["TRANSFER"]],
    ["  prev  ", ["TRANSFER"]],
    ["vklad", ["DEPOSIT"]],
    ["dep", ["DEPOSIT"]],
    ["odect", ["REDUCTION"]],
    ["odečt", ["REDUCTION"]],
    ["čerp", ["REDUCTION"]],
    ["cerpani", ["REDUCTION"]],
    ["reduc", ["REDUCTION"]],
    ["blokac", ["HOLD", "HOLD_RELEASE", "HOLD_EXPIRATION"]],
    ["autoriz", ["HOLD"]],
    ["hold rel", ["HOLD_RELEASE"]],
    // "Hold expiration" and "Expiry change" have a word starting with it too.
    ["expir", ["EXPIRATION", "HOLD_EXPIRATION", "EXPIRATION_CHANGE"]],
    ["platnost", ["EXPIRATION_CHANGE"]],
    ["zneplat", ["VOID"]],
    ["void", ["VOID"]],
    ["storno", ["REVERSAL"]],
    ["revers", ["REVERSAL"]],
    ["ní", ["REDUCTION", "VOID", "HOLD_RELEASE", "HOLD_EXPIRATION", "EXPIRATION_CHANGE"]],
    ["xyz", []],
  ])("finds %j in either language", (text, expected) => {
    expect(actionTypesMatching(text, "cs")).toEqual(expected);
    expect(actionTypesMatching(text, "en")).toEqual(expected);
    expect(actionTypesMatching(text, "de")).toEqual(expected);
  });

  it("matches every type for an empty text", () => {
    expect(actionTypesMatching("", "cs")).toEqual([...actionTypes]);
    expect(actionTypesMatching("   ", "en")).toEqual([...actionTypes]);
  });
});
