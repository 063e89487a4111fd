// Business failures as data (Shopify's userErrors): every mutation payload carries `userErrors { code field
// message }`, with the message in the caller's language. Top-level `errors` are for faults and for what is
// wrong with the request itself (authentication, malformed scalars, page sizes on queries).
import { GraphQLError } from "graphql";
import { type ErrorCode, errorCodes, translateError } from "../i18n/messages.ts";
import type { LedgerError, LedgerFailure } from "../ledger/index.ts";
import { formatDateTime } from "../time/date-time.ts";
import { builder } from "./builder.ts";
import { type NodeTypeName, nodeTypeOf } from "./ids.ts";
import type { Context } from "../types.ts";

export interface UserError {
  code: ErrorCode;
  /** Path to the input field at fault, e.g. ["input", "amount"]; null when no one field is. */
  field: string[] | null;
  message: string;
}

export const ErrorCodeEnum = builder.enumType("ErrorCode", {
  description: "Stable codes of the errors the API reports; clients branch on these, not on messages.",
  values: Object.fromEntries(errorCodes.map((code) => [code, { description: describeCode(code) }])) as Record<
    ErrorCode,
    { description: string }
  >,
});

export const UserErrorRef = builder.objectRef<UserError>("UserError").implement({
  description: "A business reason a mutation did not happen. Nothing was written when a payload has any.",
  fields: (t) => ({
    code: t.field({ type: ErrorCodeEnum, description: "Stable code of the error.", resolve: (error) => error.code }),
    field: t.stringList({
      nullable: true,
      description: 'Path to the input field at fault (e.g. ["input", "amount"]); null when no one field is.',
      resolve: (error) => error.field,
    }),
    message: t.string({
      description: "What went wrong, in the language negotiated from Accept-Language.",
      resolve: (error) => error.message,
    }),
  }),
});

/** The ledger's failure as a user error on the mutation's input. */
export function userErrorFrom(
  error: LedgerError | { code: ErrorCode; field: string | null; message: string; params?: Record<string, string> },
  context: Context,
): UserError {
  const params = inTenantTime(error.params ?? {}, context);
  return {
    code: error.code,
    field: error.field === null ? null : ["input", ...error.field.split(".")],
    message: translateError({ code: error.code, message: error.message, params }, context.language),
  };
}

// The exact form of Date.toISOString(), which is how the ledger (which knows no tenant) states a time in params.
const utcInstantPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The params with every time in the tenant's time zone, with its offset, as every DateTime field of the API
 * shows it: a message says "at 2026-03-01T11:00:00.000+01:00", the time the client sent and reads elsewhere,
 * not the same instant in UTC.
 */
function inTenantTime(params: Record<string, string>, context: Context): Record<string, string> {
  const timeZone = context.caller?.tenant.timeZone ?? "UTC";
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [
      name,
      utcInstantPattern.test(value) ? formatDateTime(new Date(value), timeZone) : value,
    ]),
  );
}

export function userErrorsOf(failure: LedgerFailure, context: Context): UserError[] {
  return [userErrorFrom(failure.error, context)];
}

/** A top-level error with a stable code, for problems with a query's own arguments. */
export function argumentError(
  code: ErrorCode,
  field: string,
  context: Context,
  params: Record<string, string> = {},
  english = "",
): GraphQLError {
  const message = translateError({ code, params, message: english || code }, context.language);
  return new GraphQLError(message, { extensions: { code, field, http: { status: 200 } } });
}

/**
 * Refuses a field that takes exactly one of several arguments (a @oneOf in all but name) unless exactly one
 * of them is given: null counts as not given, as @oneOf has it.
 */
export function requireExactlyOne(args: Record<string, unknown>, names: readonly string[], context: Context): void {
  const given = names.filter((name) => args[name] !== null && args[name] !== undefined);
  if (given.length === 1) return;
  const list = names.join(", ");
  throw argumentError("INVALID_ARGUMENTS", list, context, { arguments: list });
}

function describeCode(code: ErrorCode): string {
  const english = translateError({ code, params: {}, message: code }, "en");
  return english.replace(/\s+/g, " ").trim() || code;
}

/** The params of an INVALID_ID refusal: the type expected and, for a valid global ID of another type, its type. */
function invalidIdParams(field: string, expectedType: NodeTypeName, value: string): Record<string, string> {
  const givenType = nodeTypeOf(value);
  return { field, expectedType, ...(givenType === null ? {} : { givenType }) };
}

/**
 * The user error for an ID argument that is not a global ID of the expected type: it names the expected type,
 * and the type the ID names when it is a valid global ID of another of the API's types.
 */
export function invalidId(field: string, expectedType: NodeTypeName, value: string, context: Context): UserError {
  return userErrorFrom(
    {
      code: "INVALID_ID",
      field,
      message: "This is not a valid ID of the expected type.",
      params: invalidIdParams(field, expectedType, value),
    },
    context,
  );
}

/**
 * The same refusal as a top-level error, for the ID arguments of queries and subscriptions (which have no
 * userErrors): the same code and the same message as a mutation gives for the same ID.
 */
export function invalidIdArgument(
  field: string,
  expectedType: NodeTypeName,
  value: string,
  context: Context,
): GraphQLError {
  return argumentError("INVALID_ID", field, context, invalidIdParams(field, expectedType, value));
}
