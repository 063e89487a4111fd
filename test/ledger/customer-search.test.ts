// Customer search: part of the external id, name or email; case-insensitive including Czech letters; % and _
// literal; tenant-scoped; kept current when a customer changes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { searchCustomers } from "../../src/ledger/customer-search.ts";
import { createLedgerFixture, type LedgerFixture, ok } from "../support/ledger.ts";

let fixture: LedgerFixture;
const ids: Record<string, string> = {};

beforeAll(async () => {
  fixture = await createLedgerFixture();
  const people: [string, string | null, string | null][] = [
    ["CUST-100%", "Žluťoučký Kůň", "kun@example.com"],
    ["CUST_200", "Petr Svoboda", null],
    ["CUST-300", "ŠÁRKA Dvořáková", "sarka@example.cz"],
    ["X-400", null, "100%off@example.com"],
  ];
  for (const [externalId, name, email] of people) {
    ids[externalId] = ok(
      await fixture.ledger.createCustomer(fixture.tenantId, { externalId, name, email }),
    ).customer.id;
  }
  const other = ok(await fixture.ledger.createTenant({ name: "Other" })).tenant;
  ok(await fixture.ledger.createCustomer(other.id, { externalId: "CUST-999", name: "Žluťoučký Jiný" }));
});

afterAll(async () => {
  await fixture.drop();
});

const find = async (query: string) =>
  (await searchCustomers(fixture.database, fixture.tenantId, query, { offset: 0, limit: 50 })).map(
    (customer) => customer.externalId,
  );

describe("customer search", () => {
  it("matches parts of the external id, name or email, ignoring case, Czech letters included", async () => {
    expect(await find("žluťoučký")).toEqual(["CUST-100%"]);
    expect(await find("ŽLUŤOUČKÝ")).toEqual(["CUST-100%"]);
    expect(await find("šárka")).toEqual(["CUST-300"]);
    expect(await find("example.cz")).toEqual(["CUST-300"]);
    expect(await find("cust")).toEqual(["CUST-100%", "CUST_200", "CUST-300"]);
  });

  it("treats % and _ as themselves", async () => {
    expect(await find("%")).toEqual(["CUST-100%", "X-400"]);
    expect(await find("_")).toEqual(["CUST_200"]);
    expect(await find("100%")).toEqual(["CUST-100%", "X-400"]);
  });

  it("sees only the tenant's customers, and an empty query lists them all", async () => {
    expect(await find("999")).toEqual([]);
    expect(await find("  ")).toHaveLength(4);
  });

  it("follows changes to a customer", async () => {
    ok(await fixture.ledger.updateCustomer(fixture.tenantId, { customerId: ids.CUST_200!, name: "Pavla Nová" }));
    expect(await find("svoboda")).toEqual([]);
    expect(await find("pavla")).toEqual(["CUST_200"]);
  });
});
