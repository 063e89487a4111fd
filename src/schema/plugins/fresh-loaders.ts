// After every mutation field, the request's loaders are built anew: nothing a write could have changed
// (balances, customer totals, grants, histories and their counts, an action's entries and allocations) is
// then served from what an earlier field of the same request loaded. GraphQL runs mutation fields one after
// the other, so the payload of each field, and every later field, reads the ledger as it is after that write.
// Rebuilding rather than clearing chosen keys means no write can forget one.
//
// The builder's options say how to renew a context's loaders (`freshLoaders: { renew }`), so the plugin
// needs no knowledge of the server's context.
import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from "@pothos/core";
import type { GraphQLFieldResolver } from "graphql";

const pluginName = "freshLoaders";

export class FreshLoadersPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types["Context"], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types["Context"], object> {
    const renew = this.builder.options.freshLoaders?.renew;
    if (fieldConfig.parentType !== "Mutation" || !renew) return resolver;
    return async (parent, args, context, info) => {
      try {
        return await resolver(parent, args, context, info);
      } finally {
        renew(context);
      }
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      freshLoaders: FreshLoadersPlugin<Types>;
    }
    export interface SchemaBuilderOptions<Types extends SchemaTypes> {
      /** Optional only for builders that do not use this plugin (the declaration is global). */
      freshLoaders?: {
        /** Replaces the context's loaders with empty ones. */
        renew: (context: Types["Context"]) => void;
      };
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, FreshLoadersPlugin);

export default pluginName;
