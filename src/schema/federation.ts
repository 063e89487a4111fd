// The API as an Apollo Federation v2 subgraph, for teams that compose it with their own services behind a
// federation router (Hive Gateway, Apollo Router): `Customer` is an entity keyed by its global `id` and by
// the tenant's `externalId`, so another subgraph can point at a customer by either and the router fetches
// its balances and history here.
//
// It is the same schema plus what federation adds (`_service`, `_entities`, `_Any`, `_Entity`, the `@key`
// directives), less the mutation payloads' `query` fields, served on /graphql only when FEDERATION=true: the
// plain schema (schema.graphql) stays free of federation's machinery for every other client. Entities are resolved through the request's loaders, so a
// router asking for many customers at once costs one statement per key kind, and the caller's API key (which
// the router passes on) decides the tenant as for any request: another tenant's customers resolve to null.
import { printSubgraphSchema } from "@apollo/subgraph";
import { AnyType, EntityType, entitiesField, ServiceType, serviceField } from "@apollo/subgraph/dist/types.js";
import { MapperKind, mapSchema } from "@graphql-tools/utils";
import {
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLUnionType,
  getNamedType,
  isObjectType,
} from "graphql";
import type { Customer } from "../generated/postgres/client.ts";
import { requireTenant, type Context } from "../server/context.ts";
import { builder } from "./builder.ts";
import { argumentError } from "./errors.ts";
import { decodeId } from "./ids.ts";
import { CustomerRef } from "./refs.ts";

/** The Federation specification the subgraph links, and the directives it imports from it. */
export const federationLinkUrl = "https://specs.apollo.dev/federation/v2.6";

builder.asEntity(CustomerRef, {
  key: [builder.selection<{ id: string }>("id"), builder.selection<{ externalId: string }>("externalId")],
  resolveReference: (reference, context: Context): Promise<Customer | null> | null => {
    requireTenant(context);
    if ("id" in reference && typeof reference.id === "string") {
      const id = decodeId(reference.id, "Customer");
      return id ? context.loaders.customer.load(id) : null;
    }
    if ("externalId" in reference && typeof reference.externalId === "string")
      return context.loaders.customerByExternalId.load(reference.externalId);
    return null;
  },
});

/**
 * Builds the subgraph schema: the plain schema with the Federation link, the `@key`s of the entities and the
 * `_entities`/`_service` root fields. Built here rather than with the plugin's `toSubGraphSchema`, which
 * replaces the Query type by a copy and so fails on a schema whose payloads point at Query (every payload's
 * `query` field, the Relay convention); `mapSchema` rewires every reference to the one new Query instead.
 */
export function buildSubgraphSchema(): GraphQLSchema {
  // The payloads' `query` fields point at this subgraph's Query, which a supergraph cannot offer (its Query
  // has other subgraphs' fields too), so composition refuses them; through a router a client reads more with
  // its next query instead.
  const plain = mapSchema(
    builder.toSchema({
      extensions: { directives: [{ name: "link", args: { url: federationLinkUrl, import: ["@key"] } }] },
    }),
    {
      [MapperKind.OBJECT_FIELD]: (field, _name, typeName) =>
        typeName !== "Query" && getNamedType(field.type).name === "Query" ? null : field,
    },
  );
  const entityTypes = Object.values(plain.getTypeMap()).filter(
    (type): type is GraphQLObjectType => isObjectType(type) && hasKey(type),
  );
  const entity = new GraphQLUnionType({ ...EntityType.toConfig(), types: entityTypes });
  const entityNames = entityTypes.map((type) => type.name);
  const withTypes = new GraphQLSchema({
    ...plain.toConfig(),
    types: [...plain.toConfig().types, entity, AnyType, ServiceType],
  });
  const sdl = printSubgraphSchema(withTypes);
  return mapSchema(withTypes, {
    [MapperKind.QUERY]: (query) => {
      const config = query.toConfig();
      return new GraphQLObjectType({
        ...config,
        fields: {
          ...config.fields,
          _entities: {
            ...entitiesField,
            type: new GraphQLNonNull(new GraphQLList(entity)),
            resolve: (source, args: { representations: unknown[] }, context: Context, info) => {
              refuseUnknownEntities(args.representations, entityNames, context);
              return entitiesField.resolve?.(source, args, context, info);
            },
          },
          _service: { ...serviceField, resolve: () => ({ sdl }) },
        },
      });
    },
  });
}

/**
 * Refuses, before any is resolved, representations a router never sends: one that is not an object, or whose
 * `__typename` is not one of the subgraph's entity types. The library would throw a plain Error for a type it
 * does not know (answered as an unexpected fault, INTERNAL_SERVER_ERROR) and could not resolve a type that
 * exists but is no entity; both are the client's mistake, refused with a stable code and the types accepted.
 */
function refuseUnknownEntities(representations: unknown[], entityNames: string[], context: Context): void {
  for (const [index, representation] of representations.entries()) {
    const typename =
      typeof representation === "object" && representation !== null
        ? (representation as { __typename?: unknown }).__typename
        : undefined;
    if (typeof typename === "string" && entityNames.includes(typename)) continue;
    throw argumentError("INVALID_REPRESENTATION", "representations", context, {
      index: String(index),
      ...(typeof typename === "string" ? { typename: typename.slice(0, 100) } : {}),
      accepted: entityNames.join(", "),
    });
  }
}

/** Whether the type was declared an entity (the plugin records its keys as `@key` directives). */
function hasKey(type: GraphQLObjectType): boolean {
  const directives = (type.extensions as { directives?: unknown }).directives;
  if (Array.isArray(directives)) return directives.some((directive) => directive?.name === "key");
  return typeof directives === "object" && directives !== null && "key" in directives;
}
