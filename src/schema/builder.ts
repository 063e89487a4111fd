// The Pothos schema builder shared by every schema file. It only configures plugins and defaults; types and
// fields are defined in the domain files that src/schema/index.ts imports.
import SchemaBuilder, { brandWithType } from "@pothos/core";
import DataloaderPlugin from "@pothos/plugin-dataloader";
import DirectivePlugin from "@pothos/plugin-directives";
import FederationPlugin from "@pothos/plugin-federation";
import RelayPlugin from "@pothos/plugin-relay";
import FreshLoadersPlugin from "./plugins/fresh-loaders.ts";
import { renewLoaders } from "../server/context.ts";
import type { Context } from "../types.ts";
import { isNodeTypeName, type NodeTypeName } from "./ids.ts";
import type { DateTimeInput } from "../time/date-time.ts";

export const builder = new SchemaBuilder<{
  Context: Context;
  // What the custom scalars of scalars.ts parse to and accept from resolvers: amounts are exact bigints
  // (strings of digits also serialize), and a DateTime input without an offset stays a local time until a
  // resolver reads it in the tenant's time zone.
  Scalars: {
    Amount: { Input: bigint; Output: bigint | string };
    DateTime: { Input: DateTimeInput; Output: Date | string };
  };
  // Fields are non-null unless they say otherwise, so that a nullable field is a deliberate, visible choice.
  DefaultFieldNullability: false;
  // The same rule for connections: a connection's edges and their nodes are never null.
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  // Directives and Federation only matter to the Apollo Federation subgraph schema (src/schema/federation.ts);
  // the plain schema is built without their additions. Federation comes after the plugins that wrap resolvers.
  plugins: [RelayPlugin, DataloaderPlugin, FreshLoadersPlugin, DirectivePlugin, FederationPlugin],
  freshLoaders: { renew: renewLoaders },
  defaultFieldNullability: false,
  // Every element the Relay plugin generates gets a description here, because the schema test requires a
  // description on every type, field, argument and enum value. Object ids are always global IDs (the
  // plugin's only mode): the type name and the database id, base64-encoded, so `node(id:)` can fetch
  // any object.
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    idFieldOptions: {
      description: "Globally unique ID of the object, accepted by `node` and `nodes`.",
    },
    nodeTypeOptions: {
      description: "An object with a globally unique ID, which `node` and `nodes` can fetch.",
    },
    // A well-formed global ID of a type that is not a node of this API names nothing, like an unknown id
    // of a real type: both answer null rather than an error that would tell the two apart.
    nodeQueryOptions: {
      description:
        "Fetches any object that has a global ID. Null when no object with this ID is visible to the caller.",
      args: { id: { description: "Global ID of the object." } },
      resolve: (_root, { id }, context) => loadNode(context, id),
    },
    nodesQueryOptions: {
      description:
        "Fetches objects by their global IDs, in the order given, with null in place of each ID that names no object visible to the caller. " +
        "Never null itself: the list always has one entry per ID, so a missing object is a null entry, not a null list.",
      args: { ids: { description: "Global IDs of the objects." } },
      resolve: (_root, { ids }, context) => Promise.all(ids.map((id) => loadNode(context, id))),
    },
    pageInfoTypeOptions: {
      description: "Where a page of a connection lies in the whole list, and the cursors to page from it.",
    },
    hasNextPageFieldOptions: {
      description: "Whether more items follow this page (when paging forward with `first`).",
    },
    hasPreviousPageFieldOptions: {
      description: "Whether more items precede this page (when paging backward with `last`).",
    },
    startCursorFieldOptions: {
      description: "Cursor of the first item of the page; null when the page is empty.",
    },
    endCursorFieldOptions: {
      description: "Cursor of the last item of the page; null when the page is empty.",
    },
    firstArgOptions: { description: "Returns at most this many items from the start (or from `after`)." },
    afterArgOptions: { description: "Returns the items after the item with this cursor." },
    lastArgOptions: { description: "Returns at most this many items from the end (or from `before`)." },
    beforeArgOptions: { description: "Returns the items before the item with this cursor." },
    defaultConnectionTypeOptions: {
      description: "One page of a list, with cursors to fetch the pages around it.",
    },
    defaultEdgeTypeOptions: {
      description: "An item of a connection, with the cursor that marks its position.",
    },
    pageInfoFieldOptions: { description: "Where this page lies in the whole list." },
    edgesFieldOptions: { nullable: false, description: "The items of this page, each with its cursor." },
    nodeFieldOptions: { nullable: false, description: "The item." },
    cursorFieldOptions: { description: "Opaque position of the item, for the `after` and `before` arguments." },
    mutationInputArgOptions: { description: "The mutation's input." },
  },
});

/**
 * The request's loader of each node type. `node` and `nodes` read through them rather than through the Relay
 * plugin's own per-request cache: that cache outlives the loaders that are renewed after every mutation field
 * (so a payload's `query { node(...) }` showed the account as it was before the write), and an object it hands
 * to a second lookup of the same id before the first has branded it fails the Node interface's type
 * resolution. Reading through the loaders shares their batching, and each object is branded with its type
 * here, before any field sees it.
 */
const nodeLoaders: { [Name in NodeTypeName]: (context: Context) => { load(id: string): Promise<object | null> } } = {
  Customer: (context) => context.loaders.customer,
  CreditAccount: (context) => context.loaders.account,
  CreditAction: (context) => context.loaders.action,
  CreditGrant: (context) => context.loaders.grant,
  CreditHold: (context) => context.loaders.hold,
  Store: (context) => context.loaders.store,
  Partner: (context) => context.loaders.partner,
};

/** The object a global ID names, branded with its type; null for a type that is not a node or no such object. */
async function loadNode(context: Context, id: { typename: string; id: string }): Promise<object | null> {
  if (!isNodeTypeName(id.typename)) return null;
  const node = await nodeLoaders[id.typename](context).load(id.id);
  if (node !== null) brandNode(node, id.typename);
  return node;
}

// Pothos types the brand's type as a reference of the builder's own types, which cannot be named before the
// builder exists; like the Relay plugin, this passes the type's name, which is what the brand holds.
const brandNode = brandWithType as (node: object, typename: NodeTypeName) => void;
