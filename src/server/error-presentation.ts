// The last look at every error before it leaves: whatever produced it (the parser, validation, variable
// coercion in graphql-js, a resolver, a guard), it is rewritten here in one place, once the whole result of
// the request (or of each operation of a batch) is known.
//
// - With INTROSPECTION=false no message may name a schema member the client did not write: graphql-js adds
//   "Did you mean ...?" hints not only in validation (which GraphQL Armor's block-field-suggestions covers)
//   but also while it coerces variables (unknown input fields, enum values), which no validation rule sees.
import { GraphQLError } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";

export interface ErrorPresentationOptions {
  /** When false, suggestions that would reveal the schema are removed from every message. */
  introspection: boolean;
}

/** graphql-js's hint: ` Did you mean "amount"?`, ` Did you mean the enum value "EFFECTIVE_AT"?`, or a list of names. */
const suggestionPattern = /\s*Did you mean [^?]*\?/g;

export function withoutSuggestions(message: string): string {
  return message.replace(suggestionPattern, "");
}

export function useErrorPresentation(options: ErrorPresentationOptions): Plugin {
  const present = (error: GraphQLError): GraphQLError => {
    let message = error.message;
    if (!options.introspection) message = withoutSuggestions(message);
    if (message === error.message) return error;
    return new GraphQLError(message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      originalError: error.originalError,
      extensions: error.extensions,
    });
  };
  const presentResult = <T>(result: T): T => {
    const single = result as { errors?: readonly GraphQLError[] };
    if (!single || typeof single !== "object" || !Array.isArray(single.errors)) return result;
    return { ...single, errors: single.errors.map((error) => (error instanceof GraphQLError ? present(error) : error)) } as T;
  };
  return {
    onResultProcess({ result, setResult }) {
      if (isAsyncIterable(result)) return;
      setResult(Array.isArray(result) ? result.map(presentResult) : presentResult(result));
    },
  };
}
