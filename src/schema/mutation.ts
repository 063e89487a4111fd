// The plumbing every mutation shares, written once: the tenant check, the decoding of global IDs (a bad one is
// an INVALID_ID user error on the input field that holds it, as Saleor's get_node_or_error(info, id, field=...,
// only_type=...) reports it), the common write options of money-moving mutations, and the mapping of the
// ledger's result to the payload. A mutation's resolver then reads as its input, one ledger call, its payload:
//
//   reduce: t.field({
//     type: ReducePayload,
//     description: "...",
//     args: { input: t.arg({ type: ReduceInput, required: true, description: "..." }) },
//     resolve: (_root, { input }, context) =>
//       runMutation(context, input, {
//         ids: { accountId: "CreditAccount" },   // input field -> the node type its global ID must name
//         writeOptions: true,                    // the input has writeInputFields (idempotencyKey, note, ...)
//         write: ({ tenantId, ids, options }) =>
//           context.ledger.reduce(tenantId, { ...options, accountId: ids.accountId, amount: input.amount }),
//         payload: (outcome) => actionFields(outcome, context),  // the ledger's success value -> payload fields
//       }),
//   }),
//
// Steps, in this order, each stopping at the first refusal:
//   1. requireTenant: no valid API key throws UNAUTHENTICATED (a top-level error, not a user error);
//   2. every field of `ids`, in the order given: a value that is not a global ID of that type is a user error
//      INVALID_ID with `field: ["input", <field>]`, and the ledger is not called;
//   3. with `writeOptions: true`, the options every money-moving write takes (writeInputFields below): the
//      idempotency key, note, external reference, effective time (read in the tenant's time zone), initiator
//      (the calling API key unless the input names another), dryRun, and storeId/partnerId (INVALID_ID as in 2);
//   4. `write`, one ledger operation (one database transaction); its `{ ok: false }` becomes the payload's
//      userErrors, translated into the request's language, with the field the ledger named;
//   5. `payload` maps the success value to the payload's fields; `userErrors: []` is added.
// A refused mutation's payload is `{ userErrors }` alone: payload types (see payloadFields) resolve their other
// fields with `?? null` (or the field's empty value). Nothing here clears loaders: every mutation field gets
// fresh ones after it ran (plugins/fresh-loaders.ts).
//
// A new mutation: an input type (spread writeInputFields(t) into it if it moves money), a payload type
// (`builder.objectRef<Payload<{ thing: Thing }>>(...)` with `...payloadFields(t)`, or actionPayload() of
// credit-action.ts when it writes one credit action), and a resolver that is one runMutation call. Its
// refusals come from the ledger as `{ ok: false, error: { code, field } }`; nothing else is needed here.
import type { WriteOptions } from "../ledger/index.ts";
import type { LedgerResult } from "../ledger/result.ts";
import { requireTenant } from "../auth/unauthenticated.ts";
import type { Context } from "../types.ts";
import type { builder } from "./builder.ts";
import { InitiatorInput, initiatorFrom, optionalInputTime } from "./common.ts";
import { invalidId, type UserError, UserErrorRef, userErrorsOf } from "./errors.ts";
import { decodeId, type NodeTypeName } from "./ids.ts";
import { QueryRef, refetchDescription } from "./meta.ts";
import type { DateTimeInput } from "../time/date-time.ts";

/** Input fields that hold global IDs, each with the node type it must name; checked in this order. */
export type IdFields = Readonly<Record<string, NodeTypeName>>;

/** The database ids decoded from the input's ID fields, under the same names. */
export type DecodedIds<Fields extends IdFields> = { -readonly [Field in keyof Fields]: string };

/** What the ledger call receives from the plumbing. */
export interface MutationCall<Fields extends IdFields> {
  tenantId: string;
  ids: DecodedIds<Fields>;
  /** The decoded common write options; empty unless the spec says `writeOptions: true`. */
  options: WriteOptions;
}

/**
 * A mutation's payload: its fields and an empty `userErrors` when the write happened, or `userErrors` alone
 * when it was refused (nothing was written then).
 */
export type Payload<Fields extends object> =
  | (Fields & { userErrors: UserError[] })
  | ({ [Field in keyof Fields]?: undefined } & { userErrors: UserError[] });

export interface MutationSpec<Fields extends IdFields, Success extends object, PayloadFields extends object> {
  /** The input fields holding global IDs, and the node type each must name (checked in this order). */
  ids: Fields;
  /** True when the input carries writeInputFields, decoded into `options` for the ledger call. */
  writeOptions?: boolean;
  /** The one ledger operation. */
  write: (call: MutationCall<Fields>) => Promise<LedgerResult<Success>>;
  /** The payload's fields for a write that happened. */
  payload: (success: Success) => PayloadFields | Promise<PayloadFields>;
}

type InputOf<Fields extends IdFields> = { readonly [Field in keyof Fields]: string | number } & Partial<WriteInput>;

/** Runs a mutation through the steps in this file's header. */
export async function runMutation<const Fields extends IdFields, Success extends object, PayloadFields extends object>(
  context: Context,
  input: InputOf<Fields>,
  spec: MutationSpec<Fields, Success, PayloadFields>,
): Promise<Payload<PayloadFields>> {
  const tenantId = requireTenant(context).id;
  const ids = decodeIds(input, spec.ids, context);
  if (isRefusal(ids)) return refused(ids.userErrors);
  const options = spec.writeOptions ? writeOptions(input, context) : {};
  if (isRefusal(options)) return refused(options.userErrors);
  const result = await spec.write({ tenantId, ids, options });
  if (!result.ok) return refused(userErrorsOf(result, context));
  return { ...(await spec.payload(result)), userErrors: [] };
}

/** The payload of a mutation that did not happen: its user errors, every other field absent. */
export function refused<Fields extends object>(userErrors: UserError[]): Payload<Fields> {
  // TypeScript cannot see that an object without Fields' keys fits `{ [K in keyof Fields]?: undefined }`
  // for a Fields still unknown; it does for every concrete one.
  return { userErrors } as Payload<Fields>;
}

interface Refusal {
  userErrors: UserError[];
}

function isRefusal(value: object): value is Refusal {
  return "userErrors" in value;
}

function decodeIds<const Fields extends IdFields>(
  input: InputOf<Fields>,
  fields: Fields,
  context: Context,
): DecodedIds<Fields> | Refusal {
  const ids: Record<string, string> = {};
  for (const [field, type] of Object.entries(fields)) {
    const id = decodeId(String(input[field]), type);
    if (!id) return { userErrors: [invalidId(field, type, String(input[field]), context)] };
    ids[field] = id;
  }
  return ids as DecodedIds<Fields>;
}

// ----- Write options ---------------------------------------------------------------------------------------

/** The input fields every money-moving write takes, as `writeInputFields(t)` declares them. */
export interface WriteInput {
  idempotencyKey?: string | null;
  note?: string | null;
  storeId?: string | number | null;
  partnerId?: string | number | null;
  externalReference?: string | null;
  effectiveAt?: DateTimeInput | null;
  initiator?: { type: "USER" | "SYSTEM" | "API_KEY"; id?: string | null } | null;
  dryRun?: boolean | null;
}

/** The `t` of an input type's fields, for helpers that add fields to several inputs. */
export type InputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]["fields"]>[0];

/** The common fields of a money-moving mutation's input; spread them into its input type's fields. */
export const writeInputFields = (t: InputFieldBuilder) => ({
  idempotencyKey: t.string({
    required: false,
    description:
      "Retrying with the same key and the same input returns the first result (replayed: true) instead of writing again; 1 to 255 visible ASCII characters.",
  }),
  note: t.string({ required: false, description: "Free text about the action (at most 1,000 characters)." }),
  storeId: t.id({ required: false, description: "Global ID of the store where it happens." }),
  partnerId: t.id({ required: false, description: "Global ID of the partner through whom it happens." }),
  externalReference: t.string({
    required: false,
    description: "What it pays for or comes from, e.g. an invoice and line item (at most 255 characters).",
  }),
  effectiveAt: t.field({
    type: "DateTime",
    required: false,
    description:
      "When it takes effect; default now. May be in the past (backdating). In the future only on deposit and createCreditGrant, at most 1826 days ahead: the grant is then scheduled, and its credits enter the balance at that time.",
  }),
  initiator: t.field({
    type: InitiatorInput,
    required: false,
    description: "Who causes it, when not the API client itself.",
  }),
  dryRun: t.boolean({
    required: false,
    description:
      "True: answer what the write would do (the payload's `preview`, or the userErrors it would meet) without writing anything; the idempotency key stays unused. Default false.",
  }),
});

/** Decodes the common write options; a bad store or partner ID is a user error. */
export function writeOptions(input: WriteInput, context: Context): WriteOptions | Refusal {
  const options: WriteOptions = {
    idempotencyKey: input.idempotencyKey ?? null,
    note: input.note ?? null,
    externalReference: input.externalReference ?? null,
    effectiveAt: optionalInputTime(input.effectiveAt, context) ?? null,
    initiator: initiatorFrom(input.initiator, context),
    dryRun: input.dryRun === true,
  };
  if (input.storeId !== null && input.storeId !== undefined) {
    const storeId = decodeId(String(input.storeId), "Store");
    if (!storeId) return { userErrors: [invalidId("storeId", "Store", String(input.storeId), context)] };
    options.storeId = storeId;
  }
  if (input.partnerId !== null && input.partnerId !== undefined) {
    const partnerId = decodeId(String(input.partnerId), "Partner");
    if (!partnerId) return { userErrors: [invalidId("partnerId", "Partner", String(input.partnerId), context)] };
    options.partnerId = partnerId;
  }
  return options;
}

// ----- Payload types ---------------------------------------------------------------------------------------

type ObjectFieldBuilder<Parent> = PothosSchemaTypes.ObjectFieldBuilder<
  typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never,
  Parent
>;

/**
 * The two fields every payload has besides its own: `userErrors` (`why` describes them) and `query`, the query
 * root to read anything else in the same round trip (the Relay convention).
 */
export function payloadFields<Parent extends { userErrors: UserError[] }>(
  t: ObjectFieldBuilder<Parent>,
  why = "Why nothing was written.",
) {
  return {
    userErrors: t.field({ type: [UserErrorRef], description: why, resolve: (payload) => payload.userErrors }),
    query: t.field({ type: QueryRef, description: refetchDescription, resolve: () => ({}) }),
  };
}
