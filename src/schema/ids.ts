// Global IDs (Relay): "Type:databaseId", base64-encoded, opaque to clients. Mutations take IDs as plain `ID`
// arguments and decode them here, so that a malformed ID or one of the wrong type is a user error with a
// code (INVALID_ID) rather than a fault, and an ID of another tenant reads exactly like a missing one.
import { decodeGlobalID, encodeGlobalID } from "@pothos/plugin-relay";

export type NodeTypeName = "Customer" | "CreditAccount" | "CreditAction" | "CreditGrant" | "Store" | "Partner";

/** The database id inside a global ID of the given type, or null when it is not one. */
export function decodeId(globalId: string, type: NodeTypeName): string | null {
  try {
    const decoded = decodeGlobalID(globalId);
    return decoded.typename === type && decoded.id.length > 0 && decoded.id.length <= 64 ? decoded.id : null;
  } catch {
    return null;
  }
}

export function encodeId(type: NodeTypeName, id: string): string {
  return encodeGlobalID(type, id);
}
