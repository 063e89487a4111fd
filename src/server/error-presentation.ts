// The last look at every error before it leaves: whatever produced it (the parser, validation, variable
// coercion in graphql-js, a resolver, a guard), it is rewritten here in one place, once the whole result of
// the request (or of each operation of a batch) is known.
//
// - With INTROSPECTION=false no message may name a schema member the client did not write: graphql-js adds
//   "Did you mean ...?" hints not only in validation (which GraphQL Armor's block-field-suggestions covers)
//   but also while it coerces variables (unknown input fields, enum values), which no validation rule sees.
// - Every refusal carries a code and follows the README's status rules. graphql-js reports a variable that
//   does not fit its type without a code, and the executor marks it HTTP 400 even for application/json
//   clients, whom the GraphQL-over-HTTP specification (and the README) answer 200 for a request error; such
//   errors get INVALID_VARIABLES (unless the type's check gave a code, as DateTime and Amount do) and the
//   spec's status rule. Any other refusal (no data) still without a code is a malformed request: BAD_REQUEST.
// - Every message follows the request's negotiated language. The API's own errors are written in it where they
//   arise; those written in English at their source (scalars, graphql-js, Armor, the guards) are translated
//   here by their code (src/i18n/refusal-messages.ts).
import { GraphQLError } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import type { Language } from "../i18n/languages.ts";
import { limitParams, translateRefusal } from "../i18n/refusal-messages.ts";
import { scalarInputParams } from "../schema/scalars.ts";
import { guardErrorCodes } from "./guards/refusal.ts";

export interface ErrorPresentationOptions {
  /** When false, suggestions that would reveal the schema are removed from every message. */
  introspection: boolean;
  /** The request's language: Accept-Language, else the caller's tenant's default, else English. */
  languageOf: (request: Request) => Language;
}

/** graphql-js's hint: ` Did you mean "amount"?`, ` Did you mean the enum value "EFFECTIVE_AT"?`, or a list of names. */
const suggestionPattern = /\s*Did you mean [^?]*\?/g;

export function withoutSuggestions(message: string): string {
  return message.replace(suggestionPattern, "");
}

const variablePrefix: Record<Language, string> = { en: "Variable", cs: "Proměnná" };

/**
 * The details a translated message can use: from the English message, the error's extensions, and the params a
 * scalar's refusal carries (the value as sent, the reason).
 */
function paramsOf(
  error: GraphQLError,
  english: string,
  extensions: Record<string, unknown>,
): Record<string, string | undefined> {
  const cost = extensions.cost as { requestedQueryCost?: number; maximumAvailable?: number } | undefined;
  const headers = ((extensions.http as { headers?: Record<string, string> } | undefined)?.headers ?? {}) as Record<
    string,
    string
  >;
  return {
    ...scalarInputParams(error),
    ...limitParams(english),
    ...(cost ? { requested: String(cost.requestedQueryCost), maximum: String(cost.maximumAvailable) } : {}),
    ...(headers["ratelimit-limit"] ? { limit: headers["ratelimit-limit"], retryAfter: headers["retry-after"] } : {}),
    // A 406 says which media types would have been accepted.
    ...(Array.isArray(extensions.acceptedMediaTypes) ? { accepted: extensions.acceptedMediaTypes.join(", ") } : {}),
    // The subscription limits say which limit was reached.
    ...(extensions.code === guardErrorCodes.tooManySubscriptions
      ? { limit: String(extensions.limit), scope: String(extensions.scope) }
      : {}),
  };
}

/** An error of graphql-js's variable coercion, which the executor reports before running anything. */
function isVariableError(error: GraphQLError): boolean {
  return /^Variable "\$/.test(error.message) && error.path === undefined;
}

export function useErrorPresentation(options: ErrorPresentationOptions): Plugin {
  // `refused`: the result has no data, so the request was refused before execution (a malformed request),
  // rather than a field failing while it ran.
  const present = (error: GraphQLError, refused: boolean, language: Language): GraphQLError => {
    let message = error.message;
    if (!options.introspection) message = withoutSuggestions(message);
    let extensions = error.extensions;
    const variable = isVariableError(error);
    if (variable) {
      const http = (extensions.http ?? {}) as Record<string, unknown>;
      extensions = {
        ...extensions,
        code: extensions.code ?? guardErrorCodes.invalidVariables,
        http: { ...http, status: 400, spec: true },
      };
    } else if (extensions.code === undefined && refused) {
      extensions = { ...extensions, code: guardErrorCodes.badRequest };
    }
    if (language !== "en") {
      const translated = translateRefusal(extensions.code, message, language, paramsOf(error, message, extensions));
      if (translated !== message) {
        // The variable's name is the one detail of graphql-js's English prefix worth keeping.
        const name = variable ? /^Variable "(\$[^"]+)"/.exec(message)?.[1] : undefined;
        message = name ? `${variablePrefix[language]} ${name}: ${translated}` : translated;
      }
    }
    if (message === error.message && extensions === error.extensions) return error;
    return new GraphQLError(message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      originalError: error.originalError,
      extensions,
    });
  };
  const presentResult = <T>(result: T, language: Language): T => {
    const single = result as { errors?: readonly GraphQLError[]; data?: unknown };
    if (!single || typeof single !== "object" || !Array.isArray(single.errors)) return result;
    const refused = single.data === undefined;
    return {
      ...single,
      errors: single.errors.map((error) => (error instanceof GraphQLError ? present(error, refused, language) : error)),
    } as T;
  };
  return {
    onResultProcess({ request, result, setResult }) {
      if (isAsyncIterable(result)) return;
      const language = options.languageOf(request);
      setResult(
        Array.isArray(result) ? result.map((one) => presentResult(one, language)) : presentResult(result, language),
      );
    },
  };
}
