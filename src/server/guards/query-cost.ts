// The cost of a GraphQL operation: enforced against MAX_QUERY_COST and reported in every response as
// `extensions.cost { requestedQueryCost, maximumAvailable }` (the names Shopify's Admin API uses), so that
// clients can see how close they are before they are refused.
//
// The model, close to Shopify's:
// - a scalar or enum field costs 0: it is read with its parent's row;
// - an object field costs 1 plus what it selects;
// - a connection (a type with `edges` and `pageInfo`) costs 1 plus its page size times what it selects,
//   the page size being `first`, else `last`, else the default page of 20. A size above the API's maximum
//   page (100) counts as 100: the field refuses it with PAGE_SIZE_OUT_OF_RANGE, which tells the client
//   more than a cost error would;
// - a list fetched by ids (`nodes(ids:)`, federation's `_entities(representations:)`) costs 1 plus the
//   number of ids times what it selects;
// - a mutation field costs 10 plus what it selects, because it writes; a batch (applyCreditBatch) costs 10 per
//   item, as its items would as single mutations.
// Other lists (a customer's accounts, its balances) count once: they are small and their size is not
// known before running the query.
import {
  type DocumentNode,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isLeafType,
  isObjectType,
  isInterfaceType,
  type ExecutionResult,
  type GraphQLNamedType,
} from "graphql";
import { type ComplexityEstimator, getComplexity } from "graphql-query-complexity";
import type { Plugin } from "graphql-yoga";
import { historyPageLimits } from "../../ledger/history.ts";
import { guardErrorCodes } from "./refusal.ts";

export const defaultPageSize = historyPageLimits.default;
const maximumPageSize = historyPageLimits.max;
export const mutationCost = 10;

export interface QueryCost {
  requestedQueryCost: number;
  maximumAvailable: number;
}

function isConnection(type: GraphQLNamedType): boolean {
  if (!isObjectType(type) && !isInterfaceType(type)) return false;
  const fields = type.getFields();
  return "edges" in fields && "pageInfo" in fields;
}

function pageSize(args: Record<string, unknown>): number {
  for (const name of ["first", "last"]) {
    const value = args[name];
    if (typeof value === "number" && Number.isFinite(value)) return Math.min(maximumPageSize, Math.max(0, value));
  }
  return defaultPageSize;
}

/**
 * How many writes a mutation field asks for: one, or one per item of a batch (`input.items`), so that a batch
 * costs what its items would cost as single mutations.
 */
function writesOf(args: Record<string, unknown>): number {
  const input = args.input as { items?: unknown } | null | undefined;
  return Array.isArray(input?.items) ? Math.max(1, input.items.length) : 1;
}

const estimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const named = getNamedType(field.type);
  if (isLeafType(named)) return 0;
  if (type.name === "Mutation") return mutationCost * writesOf(args) + childComplexity;
  if (isConnection(named)) return 1 + pageSize(args) * childComplexity;
  if (Array.isArray(args.ids)) return 1 + args.ids.length * childComplexity;
  // A federation router's entity lookup (`_entities`, FEDERATION=true) is a list by ids too.
  if (Array.isArray(args.representations)) return 1 + args.representations.length * childComplexity;
  return 1 + childComplexity;
};

/**
 * The cost of one operation of a document: a number, "not-applicable" when the request is malformed in a way
 * execution reports itself right after (no such operation, invalid variables), or "unknown" when the
 * estimator gave up on a well-formed request. graphql-query-complexity stops after 10,000 evaluated nodes,
 * which a small document reaches easily by spreading fragments inside fragments (10 spreads of a fragment of
 * 10 spreads of ... visits 10^4 nodes); such a request must be refused, never run unchecked.
 */
export function operationCost(options: Parameters<typeof getComplexity>[0]): number | "not-applicable" | "unknown" {
  const operation = getOperationAST(options.query, options.operationName);
  if (!operation) return "not-applicable";
  const coerced = getVariableValues(options.schema, operation.variableDefinitions ?? [], options.variables ?? {});
  if (coerced.errors) return "not-applicable";
  try {
    const cost = getComplexity({ ...options, estimators: [estimator] });
    return Number.isFinite(cost) ? cost : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Costs already computed, per parsed document (yoga's parser cache hands the same document object to every
 * request with the same text): a client that repeats an operation, as frontends do, pays for the walk over
 * its document once. Variables change the cost only through the numbers and list lengths the estimator reads
 * (`first`/`last`, the lengths of `ids`, `representations` and a batch's `input.items`), never through text
 * (ids, amounts, idempotency keys...). So the key is the operation, whether its variables are valid, and the
 * variables' cost signature: their JSON with every list replaced by its length and every string left out. A
 * mutation sent again with a fresh idempotency key is costed once; the same batch document with 1 item and
 * with 100 items are two keys. Bounded per document.
 */
const knownCosts = new WeakMap<DocumentNode, Map<string, number | "not-applicable" | "unknown">>();
const knownCostsPerDocument = 64;

function costSignature(variables: Record<string, unknown>): string | null {
  try {
    return JSON.stringify(variables, (_key, value: unknown) =>
      Array.isArray(value) ? value.length : typeof value === "string" ? undefined : value,
    );
  } catch {
    return null; // not JSON (variables given in-process, not over HTTP)
  }
}

function variablesValid(options: Parameters<typeof getComplexity>[0]): boolean {
  const operation = getOperationAST(options.query, options.operationName);
  if (!operation) return false;
  return !getVariableValues(options.schema, operation.variableDefinitions ?? [], options.variables ?? {}).errors;
}

function cachedOperationCost(options: Parameters<typeof getComplexity>[0]): ReturnType<typeof operationCost> {
  const signature = costSignature(options.variables ?? {});
  if (signature === null) return operationCost(options); // not cached
  const key = `${options.operationName ?? ""}\n${variablesValid(options) ? "valid" : "invalid"}\n${signature}`;
  let costs = knownCosts.get(options.query);
  if (!costs) {
    costs = new Map();
    knownCosts.set(options.query, costs);
  }
  let cost = costs.get(key);
  if (cost === undefined) {
    cost = operationCost(options);
    if (costs.size >= knownCostsPerDocument) costs.clear();
    costs.set(key, cost);
  }
  return cost;
}

export function useQueryCost({ maximumCost }: { maximumCost: number }): Plugin {
  return {
    // A subscription is held to the same limit, once, when it opens: each event runs its selection again,
    // and a costly selection would be that cost for every entry written.
    onSubscribe({ args, setResultAndStopExecution }) {
      const refusal = costRefusal(
        operationCost({
          schema: args.schema,
          query: args.document,
          variables: (args.variableValues ?? {}) as Record<string, unknown>,
          operationName: args.operationName ?? undefined,
          estimators: [],
        }),
        maximumCost,
      );
      if (refusal) setResultAndStopExecution(refusal);
    },
    onExecute({ args, setResultAndStopExecution }) {
      const requested = cachedOperationCost({
        schema: args.schema,
        query: args.document,
        variables: (args.variableValues ?? {}) as Record<string, unknown>,
        operationName: args.operationName ?? undefined,
        estimators: [],
      });
      const refusal = costRefusal(requested, maximumCost);
      if (refusal) {
        setResultAndStopExecution(refusal);
        return;
      }
      if (typeof requested !== "number") return;
      const cost: QueryCost = { requestedQueryCost: requested, maximumAvailable: maximumCost };
      return {
        onExecuteDone({ result, setResult }) {
          // Streamed results (@defer, subscriptions) carry no single place for it; this API has none.
          if (Symbol.asyncIterator in result) return;
          const single = result as ExecutionResult;
          setResult({ ...single, extensions: { ...single.extensions, cost } });
        },
      };
    },
  };
}

/** The refusal of an operation whose cost is over the maximum or cannot be estimated; null when it may run. */
function costRefusal(requested: ReturnType<typeof operationCost>, maximumCost: number): ExecutionResult | null {
  if (requested === "not-applicable") return null;
  if (requested === "unknown") {
    // Fail closed: a limit that cannot be evaluated refuses the request.
    return {
      errors: [
        new GraphQLError(
          "The query is too complex to estimate its cost (it expands to too many fields, e.g. through fragments " +
            "spread inside fragments); simplify it.",
          { extensions: { code: guardErrorCodes.queryTooComplex, http: { status: 400 } } },
        ),
      ],
    };
  }
  if (requested <= maximumCost) return null;
  const cost: QueryCost = { requestedQueryCost: requested, maximumAvailable: maximumCost };
  return {
    errors: [
      new GraphQLError(
        `The query costs ${requested}, more than the maximum of ${maximumCost}; ask for smaller pages ` +
          "(first/last) or fewer nested connections.",
        { extensions: { code: guardErrorCodes.queryTooCostly, http: { status: 400 }, cost } },
      ),
    ],
    extensions: { cost },
  };
}
