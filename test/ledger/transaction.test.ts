// Which errors count as a lost race (retried, then LEDGER_BUSY) and which are faults: errors as the driver
// adapter throws them on the raw-SQL write path, and as the Prisma client wraps them on the directory's.
import { DriverAdapterError } from "@prisma/driver-adapter-utils";
import { describe, expect, it } from "vitest";
import { isRetryable } from "../../src/ledger/transaction.ts";

const adapterError = (cause: Record<string, unknown>) => new DriverAdapterError(cause as never);

describe("isRetryable", () => {
  it("retries the races PostgreSQL reports through the driver adapter", () => {
    for (const originalCode of ["40001", "40P01", "55P03", "23505"]) {
      expect(isRetryable(adapterError({ kind: "postgres", originalCode, originalMessage: "race" }))).toBe(true);
    }
    expect(isRetryable(adapterError({ kind: "TransactionWriteConflict", originalCode: "40001" }))).toBe(true);
    expect(isRetryable(adapterError({ kind: "UniqueConstraintViolation", originalCode: "23505" }))).toBe(true);
  });

  it("retries SQLite's busy write lock, whatever its extended code", () => {
    expect(isRetryable(adapterError({ kind: "SocketTimeout", originalCode: "SQLITE_BUSY" }))).toBe(true);
    expect(isRetryable(adapterError({ kind: "sqlite", originalCode: "SQLITE_BUSY_SNAPSHOT" }))).toBe(true);
  });

  it("retries the same errors wrapped by the Prisma client", () => {
    const wrapped = {
      code: "P2010",
      meta: { driverAdapterError: { cause: { kind: "postgres", originalCode: "40P01" } } },
    };
    expect(isRetryable(wrapped)).toBe(true);
  });

  it("does not retry faults", () => {
    expect(isRetryable(adapterError({ kind: "ForeignKeyConstraintViolation", originalCode: "23503" }))).toBe(false);
    expect(isRetryable(adapterError({ kind: "postgres", originalCode: "42P01" }))).toBe(false);
    expect(isRetryable(new Error("Bug: grants changed under the account lock"))).toBe(false);
  });
});
