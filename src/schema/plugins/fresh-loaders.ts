// After every mutation field, the request's loaders are built anew: nothing a write could have changed
// (balances, customer totals, grants, histories and their counts, an action's entries and allocations) is
// then served from what an earlier field of the same request loaded. GraphQL runs mutation fields one after
// the other, so the payload of each field, and every later field, reads the ledger as it is after that write.
// Rebuilding rather than clearing chosen keys means no write can forget one.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from "@pothos/core";
import type { GraphQLFieldResolver } from "graphql";
import { renewLoaders } from "../../server/context.ts";

const pluginName = "freshLoaders";

export class FreshLoadersPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types["Context"], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types["Context"], object> {
    if (fieldConfig.parentType !== "Mutation") return resolver;
    return async (parent, args, context, info) => {
      try {
        return await resolver(parent, args, context, info);
      } finally {
        renewLoaders(context as never);
      }
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      freshLoaders: FreshLoadersPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, FreshLoadersPlugin);

export default pluginName;
