// Enums and small helpers shared by the domain schema files: the ledger's enums as GraphQL enums, dates in
// the tenant's time zone, and the mapping of a caller into an action's initiator.
import type { Initiator } from "../ledger/index.ts";
import type { ActionType, EntryDirection } from "../generated/postgres/enums.ts";
import { actionTypeName, directionName } from "../i18n/messages.ts";
import { requireTenant } from "../auth/unauthenticated.ts";
import type { Context } from "../types.ts";
import { builder } from "./builder.ts";
import { formatDateTime, resolveDateTimeInput, type DateTimeInput } from "../time/date-time.ts";

export const ActionTypeEnum = builder.enumType("CreditActionType", {
  description: "What kind of operation a credit action records.",
  values: {
    DEPOSIT: { description: "Credits added to an account (a new grant)." },
    REDUCTION: { description: "Credits taken from an account (spent)." },
    TRANSFER: { description: "Credits moved from one account to another." },
    EXPIRATION: { description: "Credits removed because their grant expired." },
    VOID: { description: "Credits removed because their grant was voided." },
    REVERSAL: { description: "The exact undoing of an earlier deposit, reduction or transfer." },
    HOLD: {
      description:
        "A hold placed (authorized): credits reserved for a later capture. Moves nothing, so it has no entry in a history.",
    },
    HOLD_RELEASE: { description: "A pending hold voided: its credits are available again (no entry)." },
    HOLD_EXPIRATION: {
      description: "A pending hold that reached its expiry and released itself (no entry).",
    },
    EXPIRATION_CHANGE: {
      description:
        "The expiry of a grant changed (extended or shortened); its credits stay, the entry moves nothing (amount 0). The action's amount is what the grant held.",
    },
  } satisfies Record<ActionType, { description: string }>,
});

export const DirectionEnum = builder.enumType("EntryDirection", {
  description: "Whether an entry adds credits to its account or takes them away.",
  values: {
    CREDIT: { description: "Adds credits to the account." },
    DEBIT: { description: "Takes credits from the account." },
  } satisfies Record<EntryDirection, { description: string }>,
});

export const InitiatorTypeEnum = builder.enumType("InitiatorType", {
  description: "What kind of party caused an action.",
  values: {
    USER: { description: "A person, identified by the tenant's own user id." },
    SYSTEM: { description: "The ledger itself (expirations) or an automated process." },
    API_KEY: { description: "An API client, identified by its API key." },
  },
});

export const GrantCategoryEnum = builder.enumType("CreditGrantCategory", {
  description: "Whether a grant's credits were paid for or given (Stripe's credit grant category).",
  values: {
    PAID: { description: "Credits the customer paid for." },
    PROMOTIONAL: { description: "Credits given for free (bonuses, campaigns, goodwill)." },
  },
});

export const OrderDirectionEnum = builder.enumType("OrderDirection", {
  description: "Sort direction.",
  values: {
    ASC: { description: "Smallest (or earliest) first." },
    DESC: { description: "Largest (or latest) first." },
  },
});

/** A date-time as the API answers it: ISO-8601 with the offset of the tenant's time zone. */
export function tenantTime(date: Date, context: Context): string {
  return formatDateTime(date, context.caller?.tenant.timeZone ?? "UTC");
}

export function nullableTenantTime(date: Date | null, context: Context): string | null {
  return date === null ? null : tenantTime(date, context);
}

/** A date-time from input: values without an offset are read in the tenant's time zone. */
export function inputTime(value: DateTimeInput, context: Context): Date {
  return resolveDateTimeInput(value, requireTenant(context).timeZone);
}

export function optionalInputTime(value: DateTimeInput | null | undefined, context: Context): Date | undefined {
  return value === null || value === undefined ? undefined : inputTime(value, context);
}

export function localizedTypeName(type: ActionType, context: Context): string {
  return actionTypeName(type, context.language);
}

export function localizedDirectionName(direction: EntryDirection, context: Context): string {
  return directionName(direction, context.language);
}

export const InitiatorInput = builder.inputType("InitiatorInput", {
  description: "Who causes the action, when it is not the API client itself (e.g. the shop assistant).",
  fields: (t) => ({
    type: t.field({
      type: InitiatorTypeEnum,
      required: true,
      description:
        "USER for a person; SYSTEM for an automated process; API_KEY for the calling API key itself (the default).",
    }),
    id: t.string({
      required: false,
      description:
        "The tenant's own id of the user (required for USER). For API_KEY it may be omitted; if given it must be the calling key's own id, since an API_KEY initiator is always the key that sends the request (another id is refused with INVALID_INITIATOR).",
    }),
  }),
});

/**
 * The initiator recorded on an action: the user or system the caller names, or else the calling API key. The
 * API key is recorded in every case, so it is always known which credential wrote an action. An API_KEY
 * initiator is passed on as given: the ledger records the calling key for it and refuses the id of any other
 * key (INVALID_INITIATOR), so that a caller never believes another key was recorded.
 */
export function initiatorFrom(
  given: { type: "USER" | "SYSTEM" | "API_KEY"; id?: string | null } | null | undefined,
  context: Context,
): Initiator {
  const apiKeyId = context.caller?.apiKey.id ?? null;
  if (!given) return { type: "API_KEY", id: apiKeyId, apiKeyId };
  return { type: given.type, id: given.id ?? null, apiKeyId };
}
