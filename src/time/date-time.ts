// Date-time text and time zones, for the API's DateTime scalar and for the command-line tools: parsing the
// accepted forms (with an offset, an instant; without one, a local time), reading a local time in an IANA time
// zone, and formatting an instant with the zone's offset. A leaf module: it knows nothing of GraphQL or of the
// rest of the application, so the tools can use it without loading the schema.

export const dateTimeForms =
  'an ISO 8601 date and time such as "2026-03-01T10:00:00+01:00" or "2026-03-01T09:00:00Z", or one without an ' +
  'offset, read in the tenant\'s time zone: "2026-03-01T10:00:00", "2026-03-01T10:00", "2026-03-01 10:00:00" or ' +
  '"2026-03-01" (midnight)';

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** A local date and time without an offset: which instant it is depends on the tenant's time zone. */
export interface LocalDateTime {
  kind: "local";
  year: number;
  /** 1 to 12. */
  month: number;
  /** 1 to 31. */
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/** A DateTime as the client sent it: an instant (it had an offset) or a local time (it had none). */
export type DateTimeInput = { kind: "instant"; date: Date } | LocalDateTime;

// Date, then optionally time ("T", "t" or a space, as in CareCloud's "2026-03-01 10:00:00") with optional
// seconds and fraction, then an optional offset: Z, ±HH:MM, ±HHMM or ±HH. An offset needs a time.
const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/**
 * Why a DateTime text is refused: not one of the accepted forms ("syntax"), or a field out of its range. Each
 * reason has its own message in every language (src/i18n/refusal-messages.ts), so a translation says the same.
 */
export type DateTimeRefusalReason = "syntax" | "month" | "day" | "hour" | "minute" | "second" | "offset";

/** A DateTime text that is not one of the accepted forms, or names a date or time that does not exist. */
export class DateTimeError extends Error {
  readonly code = "INVALID_DATE_TIME";
  constructor(
    message: string,
    readonly reason: DateTimeRefusalReason,
    /** The details the message states: for "day" the day, the month (YYYY-MM) and its number of days. */
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Milliseconds since the epoch of the fields read as UTC. Date.UTC is not used: it maps years 0 to 99 to 1900 to 1999. */
function utcMilliseconds(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millisecond: number,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millisecond);
  return date.getTime();
}

/**
 * Reads a DateTime string. Offsets make an instant; without one the value stays a local time for
 * `resolveDateTimeInput`. Fractions beyond milliseconds are cut off (never rounded, so a time never moves into
 * the next second). Leap seconds (":60") and "24:00" are refused: JavaScript dates cannot hold the one, and the
 * other is better written as the next day's 00:00. Throws a DateTimeError (code INVALID_DATE_TIME).
 */
export function parseDateTime(text: string): DateTimeInput {
  const match = dateTimePattern.exec(text);
  if (!match) throw new DateTimeError(`DateTime must be ${dateTimeForms}; got "${shorten(text)}".`, "syntax");
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, offsetHours, offsetMinutes] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const millisecond = Number((fraction ?? "").padEnd(3, "0").slice(0, 3));
  const impossible = (reason: DateTimeRefusalReason, why: string, details: Record<string, string> = {}): never => {
    throw new DateTimeError(`"${shorten(text)}" is not a real date and time: ${why}.`, reason, details);
  };
  if (month < 1 || month > 12) impossible("month", "the month must be 01 to 12");
  if (day < 1 || day > daysInMonth(year, month)) {
    const days = String(daysInMonth(year, month));
    impossible("day", `day ${d} does not exist in ${y}-${mo}, which has ${days} days`, {
      day: String(d),
      month: `${y}-${mo}`,
      days,
    });
  }
  if (hour > 23) impossible("hour", "the hour must be 00 to 23");
  if (minute > 59) impossible("minute", "the minute must be 00 to 59");
  if (second > 59) impossible("second", "the second must be 00 to 59");
  if (zulu === undefined && sign === undefined) {
    return { kind: "local", year, month, day, hour, minute, second, millisecond };
  }
  let offset = 0;
  if (sign !== undefined) {
    const hours = Number(offsetHours);
    const minutes = Number(offsetMinutes ?? 0);
    if (hours > 23 || minutes > 59) impossible("offset", "the offset must be at most ±23:59");
    offset = (sign === "-" ? -1 : 1) * (hours * 60 + minutes);
  }
  const date = new Date(utcMilliseconds(year, month, day, hour, minute, second, millisecond) - offset * 60_000);
  return { kind: "instant", date };
}

const day = 86_400_000;

// Formatters are costly to create and are the same for every call in a zone, so each zone gets one.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        era: "short",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      throw new RangeError(`"${shorten(timeZone)}" is not an IANA time zone such as Europe/Prague.`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * Offsets of whole UTC days per zone, for days during which the offset did not change (the offset at the
 * day's first and last second agree). Asking Intl costs microseconds per call and every DateTime in an
 * answer needs an offset; the times of one ledger fall on comparatively few days. Bounded: cleared when full.
 */
const dayOffsets = new Map<string, number>();
const maxDayOffsets = 100_000;

/** The zone's offset from UTC at an instant, in milliseconds (whole seconds: Intl reports no finer). */
function offsetAt(instant: number, timeZone: string): number {
  const dayIndex = Math.floor(instant / day);
  const key = `${timeZone} ${dayIndex}`;
  const known = dayOffsets.get(key);
  if (known !== undefined) return known;
  const start = exactOffsetAt(dayIndex * day, timeZone);
  const end = exactOffsetAt(dayIndex * day + day - 1000, timeZone);
  if (start !== end) return exactOffsetAt(instant, timeZone);
  if (dayOffsets.size >= maxDayOffsets) dayOffsets.clear();
  dayOffsets.set(key, start);
  return start;
}

function exactOffsetAt(instant: number, timeZone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  const fields: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(whole))) fields[part.type] = part.value;
  // Years before 1 AD come as "1 BC" = year 0, "2 BC" = year -1, and so on.
  const year = fields.era === "BC" || fields.era === "B" ? 1 - Number(fields.year) : Number(fields.year);
  // Some engines have written midnight as hour 24 despite h23; it is the same midnight.
  const hour = Number(fields.hour) % 24;
  const local = utcMilliseconds(
    year,
    Number(fields.month),
    Number(fields.day),
    hour,
    Number(fields.minute),
    Number(fields.second),
    0,
  );
  return local - whole;
}

/**
 * The instant a DateTime input names, reading a local time in the IANA time zone (the tenant's). Instants
 * are returned as they are. For a local time the zone's offsets a day before and a day after are tried (no
 * zone changes its offset twice within two days), and:
 * - if exactly one of them gives back the same local time, that is the instant;
 * - in an overlap (autumn: 02:30 happens twice in Europe/Prague), both do, and the earlier instant is taken,
 *   the first time the clock showed that time (as Temporal's "compatible" disambiguation does);
 * - in a gap (spring: 02:30 never happens in Europe/Prague), neither does, and the time is read with the offset
 *   in force before the gap, which lands as many minutes after the gap as the time lay inside it: 02:30 becomes
 *   03:30 CEST, as a clock that was not moved forward would have shown.
 * Throws a RangeError for a time zone Intl does not know (tenants' zones are checked when they are saved).
 */
export function resolveDateTimeInput(value: DateTimeInput, timeZone: string): Date {
  if (value.kind === "instant") return new Date(value.date.getTime());
  const wall = utcMilliseconds(
    value.year,
    value.month,
    value.day,
    value.hour,
    value.minute,
    value.second,
    value.millisecond,
  );
  const before = offsetAt(wall - day, timeZone);
  const after = offsetAt(wall + day, timeZone);
  const valid = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((instant) => offsetAt(instant, timeZone) === wall - instant);
  if (valid.length > 0) return new Date(Math.min(...valid));
  return new Date(wall - before);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/**
 * The instant as an ISO 8601 local time in the IANA time zone with its numeric offset, milliseconds always
 * present: "2026-03-01T11:00:00.000+01:00" in Europe/Prague, "2026-03-01T10:00:00.000+00:00" in UTC. The offset
 * is never "Z", so every output says which wall clock it was read from. Historic offsets with seconds (local
 * mean time before 1900) are rounded to the minute and the local time shifted with them, so the text still
 * names the exact instant. Years outside 0000 to 9999 use ISO 8601's expanded form (+010000).
 */
export function formatDateTime(date: Date, timeZone: string): string {
  const instant = date.getTime();
  if (!Number.isFinite(instant)) throw new RangeError("Cannot format an invalid date.");
  const offsetMinutes = Math.round(offsetAt(instant, timeZone) / 60_000);
  const local = new Date(instant + offsetMinutes * 60_000);
  const year = local.getUTCFullYear();
  const yearText = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 6)}`;
  const sign = offsetMinutes < 0 ? "-" : "+";
  const absolute = Math.abs(offsetMinutes);
  return (
    `${yearText}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}` +
    `T${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}.${pad(local.getUTCMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(absolute / 60), 2)}:${pad(absolute % 60, 2)}`
  );
}
