// Limits on what one GraphQL document may ask for: depth, aliases, tokens and directives (GraphQL Armor),
// and cost (graphql-query-complexity, with a cost model that knows about connections).
//
// Armor's own cost limit is not used: it cannot see that `history(first: 100)` asks for a hundred times
// what `history(first: 1)` does, and a second, differently computed cost next to the reported one would
// only confuse clients. The cost every response reports in `extensions.cost` is the one that is enforced.
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { GraphQLError, type ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";
import { useQueryCost } from "./query-cost.ts";
import { guardErrorCodes, type GuardErrorCode } from "./refusal.ts";

export interface QueryLimitOptions {
  maxQueryDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxQueryCost: number;
  /** Hides "Did you mean ...?" suggestions, which would reveal the schema when introspection is off. */
  blockFieldSuggestions: boolean;
}

/**
 * Armor reports a rejection as a plain GraphQLError prefixed "Syntax Error:"; this gives it the guard's
 * stable code and a 400 status instead, and leaves the prefix out (the query's syntax is fine).
 */
function reject(code: GuardErrorCode): {
  propagateOnRejection: false;
  onReject: ((context: ValidationContext | null, error: GraphQLError) => void)[];
} {
  return {
    propagateOnRejection: false,
    onReject: [
      (context, error) => {
        const coded = new GraphQLError(error.message.replace(/^Syntax Error: /, ""), {
          extensions: { code, http: { status: 400 } },
        });
        // Validation rules report into the validation context; the token limit runs inside the parser,
        // which has no context, and fails the parse by throwing.
        if (context) context.reportError(coded);
        else throw coded;
      },
    ],
  };
}

/**
 * An empty JSON batch (`[]`) asks for nothing; Yoga would answer `200 []`, which a client cannot tell from a
 * batch whose answers went missing. It is refused like any other malformed request.
 */
function useNonEmptyBatches(): Plugin {
  return {
    onRequestParse() {
      return {
        onRequestParseDone({ requestParserResult }) {
          if (Array.isArray(requestParserResult) && requestParserResult.length === 0) {
            throw new GraphQLError("An empty batch has no operation to run; send at least one operation.", {
              extensions: { code: guardErrorCodes.badRequest, http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}

export function useQueryLimits(options: QueryLimitOptions): Plugin[] {
  return [
    useNonEmptyBatches(),
    EnvelopArmorPlugin({
      maxDepth: { n: options.maxQueryDepth, ...reject(guardErrorCodes.queryTooDeep) },
      maxAliases: { n: options.maxAliases, ...reject(guardErrorCodes.tooManyAliases) },
      maxTokens: { n: options.maxTokens, ...reject(guardErrorCodes.tooManyTokens) },
      maxDirectives: { n: options.maxDirectives, ...reject(guardErrorCodes.tooManyDirectives) },
      costLimit: { enabled: false },
      blockFieldSuggestion: { enabled: options.blockFieldSuggestions },
    }) as Plugin,
    useQueryCost({ maximumCost: options.maxQueryCost }),
  ];
}
