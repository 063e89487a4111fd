// Tests of the Amount and DateTime scalars through a real GraphQL execution (variables and inline literals
// take different paths through graphql-js), and of the time-zone arithmetic behind DateTime. No database.
import {
  type ExecutionResult,
  graphql,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from "graphql";
import { describe, expect, it } from "vitest";
import { AmountScalar, DateTimeScalar } from "../src/schema/scalars.ts";
import { type DateTimeInput, formatDateTime, parseDateTime, resolveDateTimeInput } from "../src/time/date-time.ts";

const int64Max = "9223372036854775807";
const int64Min = "-9223372036854775808";

// What the resolvers last received, to check the internal values rather than only their serialization.
let received: unknown;

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: "Query",
    fields: {
      amount: {
        type: new GraphQLNonNull(AmountScalar),
        args: { value: { type: new GraphQLNonNull(AmountScalar) } },
        resolve: (_, args: { value: bigint }) => {
          received = args.value;
          return args.value;
        },
      },
      // Resolvers may hand the scalar anything; the scalar must refuse what is not a 64-bit integer.
      badAmount: {
        type: AmountScalar,
        args: { kind: { type: new GraphQLNonNull(GraphQLString) } },
        resolve: (_, args: { kind: string }) =>
          ({ fraction: 1.5, huge: 2n ** 63n, text: "12.5", unsafe: 2 ** 60, boolean: true })[args.kind],
      },
      /** The input read in a time zone and formatted in it, as a tenant-facing resolver does. */
      dateTime: {
        type: new GraphQLNonNull(DateTimeScalar),
        args: {
          value: { type: new GraphQLNonNull(DateTimeScalar) },
          timeZone: { type: new GraphQLNonNull(GraphQLString) },
        },
        resolve: (_, args: { value: DateTimeInput; timeZone: string }) => {
          received = args.value;
          return formatDateTime(resolveDateTimeInput(args.value, args.timeZone), args.timeZone);
        },
      },
      /** The input resolved in UTC and returned as a Date, which the scalar formats itself. */
      instant: {
        type: new GraphQLNonNull(DateTimeScalar),
        args: { value: { type: new GraphQLNonNull(DateTimeScalar) } },
        resolve: (_, args: { value: DateTimeInput }) => resolveDateTimeInput(args.value, "UTC"),
      },
      badDateTime: {
        type: DateTimeScalar,
        args: { kind: { type: new GraphQLNonNull(GraphQLString) } },
        resolve: (_, args: { kind: string }) =>
          ({ bare: "2026-03-01T10:00:00", zulu: "2026-03-01T10:00:00Z", invalid: new Date(Number.NaN), number: 0 })[
            args.kind
          ],
      },
    },
  }),
});

function run(source: string, variableValues?: Record<string, unknown>): Promise<ExecutionResult> {
  return graphql({ schema, source, variableValues });
}

/** The single error of a result, with its code. */
function onlyError(result: ExecutionResult): { message: string; code: unknown } {
  expect(result.errors, JSON.stringify(result.data)).toHaveLength(1);
  const error = result.errors![0]!;
  return { message: error.message, code: error.extensions.code };
}

const amountQuery = "query ($value: Amount!) { amount(value: $value) }";

describe("Amount", () => {
  it.each([
    [int64Max, int64Max],
    [int64Min, int64Min],
    ["0", "0"],
    [0, "0"],
    ["-50", "-50"],
    ["9007199254740993", "9007199254740993"],
    [42, "42"],
    [-50, "-50"],
    [Number.MAX_SAFE_INTEGER, "9007199254740991"],
    [Number.MIN_SAFE_INTEGER, "-9007199254740991"],
  ])("reads the variable %j exactly and returns it as the string %s", async (value, expected) => {
    const result = await run(amountQuery, { value });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ amount: expected });
    expect(typeof received).toBe("bigint");
    expect(received).toBe(BigInt(expected));
  });

  it.each([
    [`"${int64Max}"`, int64Max],
    [`"${int64Min}"`, int64Min],
    ["-50", "-50"],
    ["9007199254740991", "9007199254740991"],
    ["-9007199254740991", "-9007199254740991"],
    ['"0"', "0"],
  ])("reads the literal %s exactly", async (literal, expected) => {
    const result = await run(`{ amount(value: ${literal}) }`);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ amount: expected });
    expect(received).toBe(BigInt(expected));
  });

  it.each([
    ["1.5", "INVALID_AMOUNT"],
    [1.5, "INVALID_AMOUNT"],
    ["1e3", "INVALID_AMOUNT"],
    ["1E3", "INVALID_AMOUNT"],
    [2 ** 60, "INVALID_AMOUNT"],
    [Number.MAX_SAFE_INTEGER + 1, "INVALID_AMOUNT"],
    [-(2 ** 63), "INVALID_AMOUNT"],
    [Number.POSITIVE_INFINITY, "INVALID_AMOUNT"],
    [Number.NaN, "INVALID_AMOUNT"],
    ["", "INVALID_AMOUNT"],
    ["-", "INVALID_AMOUNT"],
    ["+5", "INVALID_AMOUNT"],
    [" 5", "INVALID_AMOUNT"],
    ["5 ", "INVALID_AMOUNT"],
    ["007", "INVALID_AMOUNT"],
    ["0x10", "INVALID_AMOUNT"],
    ["1_000", "INVALID_AMOUNT"],
    ["１２", "INVALID_AMOUNT"],
    ["12abc", "INVALID_AMOUNT"],
    // Every spelling but the canonical one: one amount, one string.
    ["-0", "INVALID_AMOUNT"],
    [-0, "INVALID_AMOUNT"],
    ["-00", "INVALID_AMOUNT"],
    ["00", "INVALID_AMOUNT"],
    ["-007", "INVALID_AMOUNT"],
    ["+0", "INVALID_AMOUNT"],
    ["5.0", "INVALID_AMOUNT"],
    ["5.", "INVALID_AMOUNT"],
    [".5", "INVALID_AMOUNT"],
    ["-5e0", "INVALID_AMOUNT"],
    ["0b101", "INVALID_AMOUNT"],
    ["0o17", "INVALID_AMOUNT"],
    ["\t5", "INVALID_AMOUNT"],
    ["5\n", "INVALID_AMOUNT"],
    ["\u00a05", "INVALID_AMOUNT"],
    ["٣", "INVALID_AMOUNT"],
    ["５", "INVALID_AMOUNT"],
    ["−5", "INVALID_AMOUNT"],
    ["- 5", "INVALID_AMOUNT"],
    ["Infinity", "INVALID_AMOUNT"],
    ["NaN", "INVALID_AMOUNT"],
    [true, "INVALID_AMOUNT"],
    [false, "INVALID_AMOUNT"],
    [{ amount: "5" }, "INVALID_AMOUNT"],
    ["9223372036854775808", "AMOUNT_OUT_OF_RANGE"],
    ["-9223372036854775809", "AMOUNT_OUT_OF_RANGE"],
    [`1${"0".repeat(100)}`, "AMOUNT_OUT_OF_RANGE"],
  ])("refuses the variable %j with %s", async (value, code) => {
    received = undefined;
    const error = onlyError(await run(amountQuery, { value }));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/^Variable "\$value" got invalid value/);
    if (code === "INVALID_AMOUNT") expect(error.message).toContain("string of digits");
    expect(received).toBeUndefined();
  });

  it.each([
    ["1.5", "INVALID_AMOUNT"],
    ["1e3", "INVALID_AMOUNT"],
    ['"1e3"', "INVALID_AMOUNT"],
    ['"1.5"', "INVALID_AMOUNT"],
    ['""', "INVALID_AMOUNT"],
    ["-0", "INVALID_AMOUNT"],
    ['"-0"', "INVALID_AMOUNT"],
    ['"00"', "INVALID_AMOUNT"],
    ['"+5"', "INVALID_AMOUNT"],
    ['" 5"', "INVALID_AMOUNT"],
    ['"5.0"', "INVALID_AMOUNT"],
    ['"0x10"', "INVALID_AMOUNT"],
    ['"١٢"', "INVALID_AMOUNT"],
    ["5.0", "INVALID_AMOUNT"],
    ["9007199254740992", "INVALID_AMOUNT"],
    ["1152921504606846976", "INVALID_AMOUNT"],
    ["true", "INVALID_AMOUNT"],
    ["NONE", "INVALID_AMOUNT"],
    ["[1]", "INVALID_AMOUNT"],
    ['{ value: "1" }', "INVALID_AMOUNT"],
    ['"9223372036854775808"', "AMOUNT_OUT_OF_RANGE"],
    ['"-9223372036854775809"', "AMOUNT_OUT_OF_RANGE"],
  ])("refuses the literal %s with %s, pointing at it", async (literal, code) => {
    const result = await run(`{ amount(value: ${literal}) }`);
    const error = onlyError(result);
    expect(error.code).toBe(code);
    expect(result.errors![0]!.locations).toEqual([{ line: 1, column: 17 }]);
    if (code === "INVALID_AMOUNT") expect(error.message).toContain("string of digits");
  });

  it("serializes only exact integers, and a resolver's mistake is an error, not a wrong number", async () => {
    for (const kind of ["fraction", "text", "unsafe", "boolean"]) {
      const result = await run(`{ badAmount(kind: "${kind}") }`);
      expect(result.data).toEqual({ badAmount: null });
      expect(result.errors?.[0]?.message).toMatch(/^Amount cannot represent/);
    }
    expect(AmountScalar.serialize(2n ** 63n - 1n)).toBe(int64Max);
    expect(AmountScalar.serialize(-(2n ** 63n))).toBe(int64Min);
    expect(AmountScalar.serialize("-50")).toBe("-50");
    // Totals over several accounts may pass the 64-bit range; they stay exact.
    expect(AmountScalar.serialize(2n ** 64n)).toBe("18446744073709551616");
    const huge = await run(`{ badAmount(kind: "huge") }`);
    expect(huge.data).toEqual({ badAmount: "9223372036854775808" });
  });
});

const dateTimeQuery = "query ($value: DateTime!, $zone: String!) { dateTime(value: $value, timeZone: $zone) }";

async function inZone(value: unknown, zone: string): Promise<string> {
  const result = await run(dateTimeQuery, { value, zone });
  expect(result.errors).toBeUndefined();
  return (result.data as { dateTime: string }).dateTime;
}

async function asInstant(value: string): Promise<string> {
  const result = await run("query ($value: DateTime!) { instant(value: $value) }", { value });
  expect(result.errors).toBeUndefined();
  return (result.data as { instant: string }).instant;
}

describe("DateTime input", () => {
  it.each([
    ["2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000+00:00"],
    ["2026-03-01t10:00:00z", "2026-03-01T10:00:00.000+00:00"],
    ["2026-03-01T10:00Z", "2026-03-01T10:00:00.000+00:00"],
    ["2026-03-01T10:00:00+01:00", "2026-03-01T09:00:00.000+00:00"],
    ["2026-03-01T10:00:00-05:30", "2026-03-01T15:30:00.000+00:00"],
    ["2026-03-01T10:00:00+0100", "2026-03-01T09:00:00.000+00:00"],
    ["2026-03-01T10:00:00+01", "2026-03-01T09:00:00.000+00:00"],
    ["2026-03-01T10:00:00-00:00", "2026-03-01T10:00:00.000+00:00"],
    ["2026-03-01T10:00:00.5Z", "2026-03-01T10:00:00.500+00:00"],
    ["2026-03-01T10:00:00.123Z", "2026-03-01T10:00:00.123+00:00"],
    // Digits beyond milliseconds are cut off, not rounded into the next second.
    ["2026-03-01T23:59:59.999999999Z", "2026-03-01T23:59:59.999+00:00"],
    ["2026-03-01 10:00:00+01:00", "2026-03-01T09:00:00.000+00:00"],
    ["2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000+00:00"],
    ["2028-02-29T12:00:00Z", "2028-02-29T12:00:00.000+00:00"],
  ])("reads %s as the instant %s, whatever the tenant's zone", async (value, expected) => {
    expect(await asInstant(value)).toBe(expected);
    const instant = new Date(expected.replace("+00:00", "Z"));
    expect(await inZone(value, "Europe/Prague")).toBe(formatDateTime(instant, "Europe/Prague"));
    expect(received).toEqual({ kind: "instant", date: instant });
  });

  it.each([
    ["2026-03-01T10:00:00", "2026-03-01T10:00:00.000+01:00", "2026-03-01T09:00:00.000Z"],
    ["2026-03-01T10:00", "2026-03-01T10:00:00.000+01:00", "2026-03-01T09:00:00.000Z"],
    ["2026-03-01 10:00:00", "2026-03-01T10:00:00.000+01:00", "2026-03-01T09:00:00.000Z"],
    ["2026-03-01T10:00:00.250", "2026-03-01T10:00:00.250+01:00", "2026-03-01T09:00:00.250Z"],
    ["2026-03-01", "2026-03-01T00:00:00.000+01:00", "2026-02-28T23:00:00.000Z"],
    ["2026-07-01 10:00:00", "2026-07-01T10:00:00.000+02:00", "2026-07-01T08:00:00.000Z"],
    ["2026-01-01", "2026-01-01T00:00:00.000+01:00", "2025-12-31T23:00:00.000Z"],
  ])("reads %s without an offset as a local time of the tenant's zone", async (value, prague, instant) => {
    expect(await inZone(value, "Europe/Prague")).toBe(prague);
    expect(received).toMatchObject({ kind: "local" });
    expect(resolveDateTimeInput(received as DateTimeInput, "Europe/Prague").toISOString()).toBe(instant);
    // The same text in UTC is the same wall clock time with offset zero.
    expect(await inZone(value, "UTC")).toBe(prague.replace(/[+-]\d\d:\d\d$/, "+00:00"));
  });

  it("keeps every field of a local time for the resolver", () => {
    expect(parseDateTime("2026-03-01 10:20:30")).toEqual({
      kind: "local",
      year: 2026,
      month: 3,
      day: 1,
      hour: 10,
      minute: 20,
      second: 30,
      millisecond: 0,
    });
    expect(parseDateTime("2026-03-01")).toEqual({
      kind: "local",
      year: 2026,
      month: 3,
      day: 1,
      hour: 0,
      minute: 0,
      second: 0,
      millisecond: 0,
    });
  });

  it("accepts local times in literals too", async () => {
    const result = await run(
      '{ local: dateTime(value: "2026-03-01 10:00:00", timeZone: "Europe/Prague"), utc: instant(value: "2026-03-01T10:00:00+01:00") }',
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ local: "2026-03-01T10:00:00.000+01:00", utc: "2026-03-01T09:00:00.000+00:00" });
  });

  it.each([
    "2026-02-30",
    "2026-02-29",
    "2026-04-31T10:00:00",
    "2026-13-01",
    "2026-00-10",
    "2026-03-00",
    "2026-03-01T25:00:00",
    "2026-03-01T24:00:00",
    "2026-03-01T10:60:00",
    "2026-03-01T10:00:60",
    "2026-03-01T10:00:00+24:00",
    "2026-03-01T10:00:00+01:60",
    "",
    "yesterday",
    "2026-3-1",
    "26-03-01",
    "2026-03-01T10",
    "2026-03-01Z",
    "2026-03-01T10:00:00 +01:00",
    "2026-03-01T10:00:00.Z",
    "2026-03-01T10:00:00,5Z",
    "20260301T100000Z",
    " 2026-03-01",
    "2026-03-01T10:00:00Z ",
    "1772359200000",
  ])("refuses %j with INVALID_DATE_TIME, as a variable and as a literal", async (value) => {
    const variable = onlyError(await run(dateTimeQuery, { value, zone: "Europe/Prague" }));
    expect(variable.code).toBe("INVALID_DATE_TIME");
    expect(variable.message).toMatch(/^Variable "\$value" got invalid value/);
    const literal = onlyError(await run(`{ dateTime(value: ${JSON.stringify(value)}, timeZone: "UTC") }`));
    expect(literal.code).toBe("INVALID_DATE_TIME");
  });

  it("says why an impossible date is impossible", async () => {
    const error = onlyError(await run(dateTimeQuery, { value: "2026-02-30", zone: "UTC" }));
    expect(error.message).toContain("day 30 does not exist in 2026-02, which has 28 days");
  });

  it.each([[1772359200000], [true], [{ date: "2026-03-01" }], [["2026-03-01"]]])(
    "refuses the non-string %j with INVALID_DATE_TIME",
    async (value) => {
      const error = onlyError(await run("query ($value: DateTime!) { instant(value: $value) }", { value }));
      expect(error.code).toBe("INVALID_DATE_TIME");
      expect(error.message).toContain("DateTime must be a string");
    },
  );

  it.each(["1772359200000", "true", "NOW", '["2026-03-01"]'])("refuses the literal %s", async (literal) => {
    const error = onlyError(await run(`{ instant(value: ${literal}) }`));
    expect(error.code).toBe("INVALID_DATE_TIME");
  });
});

describe("local times in the tenant's time zone", () => {
  const prague = "Europe/Prague";
  const resolve = (text: string, zone = prague) => resolveDateTimeInput(parseDateTime(text), zone).toISOString();

  it("moves a time inside the spring gap forward by the gap", () => {
    // On 2026-03-29 Prague's clocks jump from 02:00 CET to 03:00 CEST; 02:00 to 02:59 never happen.
    expect(resolve("2026-03-29T01:59:59")).toBe("2026-03-29T00:59:59.000Z");
    expect(resolve("2026-03-29T02:00:00")).toBe("2026-03-29T01:00:00.000Z");
    expect(resolve("2026-03-29T02:30:00")).toBe("2026-03-29T01:30:00.000Z");
    expect(resolve("2026-03-29T02:59:59.999")).toBe("2026-03-29T01:59:59.999Z");
    expect(resolve("2026-03-29T03:00:00")).toBe("2026-03-29T01:00:00.000Z");
    expect(resolve("2026-03-29T03:30:00")).toBe("2026-03-29T01:30:00.000Z");
    expect(formatDateTime(new Date(resolve("2026-03-29T02:30:00")), prague)).toBe("2026-03-29T03:30:00.000+02:00");
  });

  it("takes the earlier of the two instants of a time inside the autumn overlap", () => {
    // On 2026-10-25 Prague's clocks fall back from 03:00 CEST to 02:00 CET; 02:00 to 02:59 happen twice.
    expect(resolve("2026-10-25T01:59:59")).toBe("2026-10-24T23:59:59.000Z");
    expect(resolve("2026-10-25T02:00:00")).toBe("2026-10-25T00:00:00.000Z");
    expect(resolve("2026-10-25T02:30:00")).toBe("2026-10-25T00:30:00.000Z");
    expect(resolve("2026-10-25T02:59:59")).toBe("2026-10-25T00:59:59.000Z");
    expect(resolve("2026-10-25T03:00:00")).toBe("2026-10-25T02:00:00.000Z");
    // The two instants are told apart by their offsets when formatted, and the earlier one is what a
    // local time means.
    expect(formatDateTime(new Date("2026-10-25T00:30:00Z"), prague)).toBe("2026-10-25T02:30:00.000+02:00");
    expect(formatDateTime(new Date("2026-10-25T01:30:00Z"), prague)).toBe("2026-10-25T02:30:00.000+01:00");
  });

  it("handles other zones' gaps and overlaps the same way", () => {
    expect(resolve("2026-03-08T02:30:00", "America/New_York")).toBe("2026-03-08T07:30:00.000Z");
    expect(resolve("2026-11-01T01:30:00", "America/New_York")).toBe("2026-11-01T05:30:00.000Z");
    // Samoa skipped 2011-12-30 entirely: a time of that day lands a whole day later.
    expect(resolve("2011-12-30T12:00:00", "Pacific/Apia")).toBe("2011-12-30T22:00:00.000Z");
    expect(resolve("2026-03-01T10:00:00", "Asia/Kolkata")).toBe("2026-03-01T04:30:00.000Z");
  });

  it("reads years below 100 as themselves, not as the 1900s", () => {
    expect(resolveDateTimeInput(parseDateTime("0050-06-01T12:00:00"), "UTC").getUTCFullYear()).toBe(50);
    expect(resolveDateTimeInput(parseDateTime("0050-06-01T12:00:00Z"), prague).getUTCFullYear()).toBe(50);
  });

  it("returns instants unchanged and refuses unknown zones", () => {
    expect(resolve("2026-03-01T10:00:00Z", "America/New_York")).toBe("2026-03-01T10:00:00.000Z");
    expect(() => resolveDateTimeInput(parseDateTime("2026-03-01"), "Europe/Atlantis")).toThrow(RangeError);
    expect(() => formatDateTime(new Date(), "Mars/Olympus")).toThrow(RangeError);
  });
});

describe("DateTime output", () => {
  it("formats in a zone with its numeric offset, never bare and never Z", () => {
    const instant = new Date("2026-03-01T10:00:00Z");
    expect(formatDateTime(instant, "Europe/Prague")).toBe("2026-03-01T11:00:00.000+01:00");
    expect(formatDateTime(instant, "UTC")).toBe("2026-03-01T10:00:00.000+00:00");
    expect(formatDateTime(instant, "Etc/UTC")).toBe("2026-03-01T10:00:00.000+00:00");
    expect(formatDateTime(instant, "America/New_York")).toBe("2026-03-01T05:00:00.000-05:00");
    expect(formatDateTime(instant, "Asia/Kolkata")).toBe("2026-03-01T15:30:00.000+05:30");
    expect(formatDateTime(new Date("2026-07-01T10:00:00.123Z"), "Europe/Prague")).toBe("2026-07-01T12:00:00.123+02:00");
    expect(formatDateTime(new Date("2026-12-31T23:30:00Z"), "Europe/Prague")).toBe("2027-01-01T00:30:00.000+01:00");
    expect(() => formatDateTime(new Date(Number.NaN), "UTC")).toThrow(RangeError);
  });

  it("formats what the parser reads back as the same instant", () => {
    const zones = ["Europe/Prague", "UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"];
    for (let time = Date.UTC(2026, 0, 1); time < Date.UTC(2027, 0, 1); time += 7 * 3_600_000 + 17_000) {
      for (const zone of zones) {
        const text = formatDateTime(new Date(time), zone);
        expect(resolveDateTimeInput(parseDateTime(text), "UTC").getTime()).toBe(time);
      }
    }
  });

  it("serializes a Date in UTC with +00:00 and passes through formatted strings", async () => {
    expect(DateTimeScalar.serialize(new Date("2026-03-01T10:00:00Z"))).toBe("2026-03-01T10:00:00.000+00:00");
    expect(DateTimeScalar.serialize("2026-03-01T11:00:00.000+01:00")).toBe("2026-03-01T11:00:00.000+01:00");
    for (const kind of ["bare", "zulu", "invalid", "number"]) {
      const result = await run(`{ badDateTime(kind: "${kind}") }`);
      expect(result.data).toEqual({ badDateTime: null });
      expect(result.errors?.[0]?.message).toMatch(/^DateTime cannot represent/);
    }
  });
});
