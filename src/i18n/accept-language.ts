// Chooses the language of a response from the request's Accept-Language header (RFC 9110 section 12.5.4,
// language ranges of RFC 4647, primary subtags from ISO 639-1).
//
// CareCloud sends `Accept-Language: cs, en-gb;q=0.8` by default: Czech first, British English second. Our
// languages are bare ISO 639-1 codes ("en", "cs"), so a range with a region ("en-gb") has to count for its
// language ("en"), or that second choice would never match anything.
//
// The rules, in the order they apply to each supported language:
// - Ranges are compared case-insensitively. A range matches a supported language when it is the language
//   ("cs"), a more specific form of it ("en-gb" for "en", the fallback of RFC 4647 lookup), or a less specific
//   form of it ("en" for a supported "en-us", RFC 4647 basic filtering).
// - `q=0` means "not acceptable" (RFC 9110). A q=0 range rules out the languages it covers: itself and its
//   more specific forms ("en;q=0" rules out "en" and "en-gb"), but not a less specific one, so "en-gb;q=0"
//   does not rule out plain "en". A ruled-out language stays out even if another range names it with q>0,
//   because an explicit refusal is the stronger statement.
// - Otherwise the language gets the highest q of the ranges that match it (the earliest such range on a tie).
// - "*" gives its q to every supported language that no range accepts (q>0) and none refuses; "*;q=0"
//   therefore refuses every language the header does not accept by name.
// - The winner has the highest q; ties go to the range that came first in the header, then to the fallback
//   (the server's own choice among equals), then to the order of `supported`.
// - Malformed parts (bad tags such as "en_US", q outside 0..1 or with more than three decimals, unknown
//   parameters, repeated q) are ignored one by one; the rest of the header still counts.
// - A missing or empty header, or one under which no supported language is acceptable, gives the fallback:
//   RFC 9110 lets a server disregard the header instead of answering 406, and an error in a language the
//   client did not ask for is more useful than no answer.

interface LanguageRange {
  /** Lower-case range: "*" or a tag such as "en-gb". */
  tag: string;
  /** Weight in thousandths (0 to 1000), so that comparisons are exact. */
  weight: number;
  /** Position in the header; earlier wins ties. */
  position: number;
}

// language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*" (RFC 4647 section 2.1).
const rangePattern = /^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$/;
// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 section 12.4.2).
const qvaluePattern = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/** The ranges of an Accept-Language header, malformed ones left out. */
export function parseAcceptLanguage(header: string | null | undefined): LanguageRange[] {
  const ranges: LanguageRange[] = [];
  if (!header) return ranges;
  const parts = header.split(",");
  for (const [position, part] of parts.entries()) {
    const [rawTag = "", ...parameters] = part.split(";").map((piece) => piece.trim());
    const tag = rawTag.toLowerCase();
    // Empty list elements (", ,") are allowed by the list syntax and simply say nothing.
    if (tag === "" || !rangePattern.test(tag)) continue;
    let weight = 1000;
    let valid = true;
    let seenQ = false;
    for (const parameter of parameters) {
      const match = /^q\s*=\s*(.*)$/i.exec(parameter);
      const value = match?.[1]?.trim();
      if (seenQ || value === undefined || !qvaluePattern.test(value)) {
        valid = false;
        break;
      }
      seenQ = true;
      weight = Math.round(Number(value) * 1000);
    }
    if (valid) ranges.push({ tag, weight, position });
  }
  return ranges;
}

/**
 * The language of `supported` that the header prefers, or `fallback` when the header is missing, empty, or
 * accepts none of them. The result is always one of `supported` or `fallback`, spelled as given.
 */
export function negotiateLanguage<const T extends string>(
  header: string | null | undefined,
  supported: readonly T[],
  fallback: T,
): T {
  const ranges = parseAcceptLanguage(header);
  if (ranges.length === 0) return fallback;
  const wildcard = ranges.find((range) => range.tag === "*");

  let best: { language: T; weight: number; position: number; order: number } | null = null;
  for (const [order, language] of supported.entries()) {
    const tag = language.toLowerCase();
    const specific = ranges.filter(
      (range) =>
        range.tag !== "*" && (range.tag === tag || range.tag.startsWith(`${tag}-`) || tag.startsWith(`${range.tag}-`)),
    );
    const refused = specific.some(
      (range) => range.weight === 0 && (range.tag === tag || tag.startsWith(`${range.tag}-`)),
    );
    if (refused) continue;
    const accepted = specific.filter((range) => range.weight > 0);
    let match: LanguageRange | undefined;
    if (accepted.length > 0) {
      match = accepted.reduce((a, b) =>
        b.weight > a.weight || (b.weight === a.weight && b.position < a.position) ? b : a,
      );
    } else if (wildcard && wildcard.weight > 0) {
      match = wildcard;
    }
    if (!match) continue;
    const candidate = { language, weight: match.weight, position: match.position, order };
    if (best === null || isBetter(candidate, best, fallback)) best = candidate;
  }
  return best?.language ?? fallback;
}

function isBetter<T extends string>(
  a: { language: T; weight: number; position: number; order: number },
  b: { language: T; weight: number; position: number; order: number },
  fallback: T,
): boolean {
  if (a.weight !== b.weight) return a.weight > b.weight;
  if (a.position !== b.position) return a.position < b.position;
  if ((a.language === fallback) !== (b.language === fallback)) return a.language === fallback;
  return a.order < b.order;
}
