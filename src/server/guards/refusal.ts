// The error codes the guards answer with, and the one shape of response they all use.
//
// A guard that refuses a request before GraphQL runs (rate limit, maintenance, overload) still answers
// like a GraphQL server would: a JSON body with `errors[0].extensions.code`, so that clients handle every
// refusal in one place. The codes are part of the API and must not change.
import { GraphQLError } from "graphql";
import type { Caller } from "../../auth/api-keys.ts";
import { negotiateLanguage } from "../../i18n/accept-language.ts";
import { type Language, supportedLanguages, toLanguage } from "../../i18n/languages.ts";
import { translateRefusal } from "../../i18n/refusal-messages.ts";

export const guardErrorCodes = {
  /** Too many requests for the API key (or client address) in the current window. HTTP 429. */
  rateLimited: "RATE_LIMITED",
  /** The operator switched the gateway to maintenance. HTTP 503. */
  maintenance: "MAINTENANCE",
  /** The process is serving as many requests as it may; try again shortly. HTTP 503. */
  overloaded: "OVERLOADED",
  queryTooDeep: "QUERY_TOO_DEEP",
  tooManyAliases: "TOO_MANY_ALIASES",
  tooManyTokens: "TOO_MANY_TOKENS",
  tooManyDirectives: "TOO_MANY_DIRECTIVES",
  queryTooCostly: "QUERY_TOO_COSTLY",
  /** A document whose cost cannot be estimated (it expands to too many fields); refused, never run unchecked. HTTP 400. */
  queryTooComplex: "QUERY_TOO_COMPLEX",
  /** A malformed request, such as an empty batch (400), or a batch larger than MAX_BATCH_SIZE (413). */
  badRequest: "BAD_REQUEST",
  /**
   * A variable whose value does not fit its type (an unknown enum value or input field, a missing required
   * one), when the type's own check gives no more specific code. HTTP 400, or 200 to application/json clients.
   */
  invalidVariables: "INVALID_VARIABLES",
  /** A GET or non-JSON POST without a header that a cross-site form cannot send. HTTP 403. */
  csrfHeaderRequired: "CSRF_HEADER_REQUIRED",
  /**
   * A subscription beyond MAX_SUBSCRIPTIONS on the instance or MAX_SUBSCRIPTIONS_PER_KEY for the API key;
   * `extensions.scope` says which ("instance" or "key"). HTTP 429.
   */
  tooManySubscriptions: "TOO_MANY_SUBSCRIPTIONS",
} as const;

export type GuardErrorCode = (typeof guardErrorCodes)[keyof typeof guardErrorCodes];

export interface RefusalOptions {
  status: number;
  /** A guard's code, or another stable code of the API (UNAUTHENTICATED). */
  code: GuardErrorCode | (string & {});
  message: string;
  headers?: Record<string, string>;
}

/**
 * The language of a request's messages: Accept-Language, else the caller's tenant's default, else English
 * (a request refused before its key is checked has no tenant).
 */
export function requestLanguage(request: Request, caller?: Caller | null): Language {
  return negotiateLanguage(
    request.headers.get("accept-language"),
    supportedLanguages,
    toLanguage(caller?.tenant.defaultLocale),
  );
}

/**
 * A complete HTTP response refusing the request, for guards that answer before GraphQL runs; the message is
 * in the language of the request's Accept-Language. `params` are the details a translation can use.
 */
export function refusalResponse(
  fetchAPI: { Response: typeof Response },
  refusal: RefusalOptions,
  request?: Request,
  params: Record<string, string> = {},
): Response {
  const message = request
    ? translateRefusal(refusal.code, refusal.message, requestLanguage(request), params)
    : refusal.message;
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: refusal.code } }] }), {
    status: refusal.status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...refusal.headers,
    },
  });
}

/**
 * The same refusal as a GraphQLError, for guards that decide while GraphQL runs. Yoga turns
 * `extensions.http` into the response's status and headers and leaves it out of the body.
 */
export function refusalError(refusal: RefusalOptions): GraphQLError {
  return new GraphQLError(refusal.message, {
    extensions: { code: refusal.code, http: { status: refusal.status, headers: refusal.headers ?? {} } },
  });
}
