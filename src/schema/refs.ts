// References to the API's object types, declared once so that domain files can point at each other's types
// (an action names its accounts, an account its customer) without importing each other. Each type is
// implemented in its own domain file.
import type {
  CreditAccount,
  CreditAction,
  CreditEntry,
  CreditGrant,
  CreditHold,
  Customer,
  Partner,
  Store,
} from "../generated/postgres/client.ts";
import { builder } from "./builder.ts";

export const CustomerRef = builder.objectRef<Customer>("Customer");
export const CreditAccountRef = builder.objectRef<CreditAccount>("CreditAccount");
export const CreditActionRef = builder.objectRef<CreditAction>("CreditAction");
export const CreditGrantRef = builder.objectRef<CreditGrant>("CreditGrant");
export const CreditHoldRef = builder.objectRef<CreditHold>("CreditHold");
export const CreditEntryRef = builder.objectRef<CreditEntry>("CreditEntry");
export const StoreRef = builder.objectRef<Store>("Store");
export const PartnerRef = builder.objectRef<Partner>("Partner");

/**
 * The rows a loader returned for `node`/`nodes`, with null for ids that name nothing. A loader error (no
 * API key, a database fault) is thrown, so that it is reported as what it is and never reads as "not found".
 */
export function throwLoadErrors<T>(values: readonly (T | Error | null)[]): (T | null)[] {
  return values.map((value) => {
    if (value instanceof Error) throw value;
    return value;
  });
}
