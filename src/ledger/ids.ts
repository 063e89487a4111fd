// Ids of the rows the ledger writes itself (actions, entries, grants), in the datamodel's format: UUIDv7
// strings, lower-case hex (RFC 9562). The write path inserts rows with raw SQL, so it makes their ids here,
// as the Prisma client does for `@default(uuid(7))`.
//
// Ids are time-ordered and, within this process, strictly increasing (RFC 9562 §6.2, method 1: a counter in
// the 12 bits after the millisecond timestamp), so rows written in one transaction sort in the order they
// were made: an expiration settled on the way sorts before the action that settled it, as before.
import { randomBytes } from "node:crypto";

/** Database ids are UUIDs; anything else cannot name a row and never reaches SQL. */
export const databaseIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let lastMs = 0;
let counter = 0;

export function newId(): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    counter += 1;
    // 4,096 ids in one millisecond: borrow the next millisecond rather than repeat or go back.
    if (counter > 0xfff) {
      ms += 1;
      counter = 0;
    }
  } else {
    // A random start leaves room for the counter while keeping ids of different processes apart.
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff;
  }
  lastMs = ms;
  const random = randomBytes(8);
  const time = ms.toString(16).padStart(12, "0");
  const versionAndCounter = (0x7000 | counter).toString(16);
  const variant =
    ((random.readUInt8(0) & 0x3f) | 0x80).toString(16).padStart(2, "0") + random.subarray(1, 2).toString("hex");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-${versionAndCounter}-${variant}-${random.subarray(2, 8).toString("hex")}`;
}
