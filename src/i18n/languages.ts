// The languages the API speaks. Messages and type names exist in each of them; everything else (a tenant's
// default locale such as "de", an Accept-Language nobody supports) falls back to English.

/** ISO 639-1 codes of the languages with a full set of messages, in order of preference when nothing else decides. */
export const supportedLanguages = ["en", "cs"] as const;

export type Language = (typeof supportedLanguages)[number];

/** English is the language of the ledger's own messages, so it is the one every text is guaranteed to exist in. */
export const defaultLanguage: Language = "en";

export function isLanguage(value: string): value is Language {
  return (supportedLanguages as readonly string[]).includes(value);
}

/**
 * The supported language a language tag asks for: "cs", "CS" and "cs-CZ" are Czech; anything unsupported is
 * English. Callers pass tenant locales and negotiated languages alike, so this never refuses.
 */
export function toLanguage(tag: string | null | undefined): Language {
  const primary = (tag ?? "").trim().toLowerCase().split(/[-_]/)[0] ?? "";
  return isLanguage(primary) ? primary : defaultLanguage;
}
