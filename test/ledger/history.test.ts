// Account and customer histories (src/ledger/history.ts) on a real database, SQLite and PostgreSQL alike.
//
// One ledger is built through the ledger's own operations (deposits, reductions, transfers, a reversal, a
// void, an expiry; varied stores, partners, initiators, notes with %, _, quotes, backslashes and Czech
// diacritics, backdated and tied times, an amount near the 64-bit limit) and every answer is checked against
// an expectation computed independently: all entries loaded with plain Prisma and filtered and sorted in
// JavaScript. The tests that add rows while paging build ledgers of their own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/client.ts";
import type { CreditAction, CreditAllocation, CreditEntry } from "../../src/generated/postgres/client.ts";
import {
  countHistories,
  HistoryArgumentError,
  HistoryCursorError,
  type HistoryFilter,
  type HistoryOrder,
  type HistoryOrderField,
  type HistoryPage,
  type HistoryPageRequest,
  type HistoryParent,
  historyOrderFields,
  historyPageLimits,
  readHistories,
} from "../../src/ledger/history.ts";
import { foldForSearch } from "../../src/ledger/validation.ts";
import { createLedgerFixture, type LedgerFixture, ok } from "../support/ledger.ts";

const minute = 60_000;
const day = 24 * 60 * minute;

// ---------------------------------------------------------------------------------------------------------
// The ledger under test

interface Dataset {
  fixture: LedgerFixture;
  tenantId: string;
  stores: { praha: string; brno: string };
  partners: { cafe: string; airline: string };
  customers: { c1: string; c2: string; c3: string };
  accounts: { a1: string; a2: string; a3: string; b1: string; big: string; empty: string };
  /** The first deposit's grant: credited, spent, transferred from, refilled by a reversal, then expired. */
  expiringGrant: string;
  /** A grant voided whole. */
  voidedGrant: string;
  other: { tenantId: string; customerId: string; accountId: string };
  /** Every parent of the tenant's, and the other tenant's two. */
  parents: HistoryParent[];
}

const notes = [
  "Čerstvá KÁVA",
  "čerstvá káva zdarma",
  "100% cashback",
  "100 percent",
  "under_score",
  "underXscore",
  "O'Brien's tip",
  "C:\\temp\\path",
  "ＫＡＶＡ fullwidth",
  null,
] as const;

async function buildDataset(): Promise<Dataset> {
  const fixture = await createLedgerFixture();
  const ledger = fixture.ledger;
  const tenantId = fixture.tenantId;
  const at = (offset: number) => new Date(fixture.now().getTime() + offset);
  const user = { type: "USER", id: "user-7" } as const;
  const apiKey = { type: "API_KEY", id: "key-1" } as const;

  const praha = ok(await ledger.createStore(tenantId, { name: "Praha" })).store.id;
  const brno = ok(await ledger.createStore(tenantId, { name: "Brno" })).store.id;
  const cafe = ok(await ledger.createPartner(tenantId, { name: "Kavárna" })).partner.id;
  const airline = ok(await ledger.createPartner(tenantId, { name: "Airline" })).partner.id;
  const c1 = await fixture.customer("c1");
  const c2 = await fixture.customer("c2");
  const c3 = await fixture.customer("c3");
  const a1 = await fixture.account({ customerId: c1 });
  const a2 = await fixture.account({ customerId: c1, name: "Bonus" });
  const a3 = await fixture.account({ customerId: c1, currency: "USD", name: "Prepaid" });
  const b1 = await fixture.account({ customerId: c2 });
  const big = await fixture.account({ customerId: c2, name: "Big" });
  const empty = await fixture.account({ customerId: c3 });

  const d1 = ok(
    await ledger.deposit(tenantId, {
      accountId: a1,
      amount: 500n,
      note: "Čerstvá KÁVA",
      storeId: praha,
      partnerId: cafe,
      effectiveAt: at(-20 * day),
      initiator: user,
      externalReference: "invoice:10",
      grant: { expiresAt: at(3 * day) },
    }),
  );
  fixture.advance(minute);
  const d2Effective = at(-10 * day);
  ok(
    await ledger.deposit(tenantId, {
      accountId: a1,
      amount: 300n,
      note: "100% cashback",
      storeId: brno,
      effectiveAt: d2Effective,
      initiator: apiKey,
      externalReference: "invoice:2",
    }),
  );
  const d3 = ok(
    await ledger.deposit(tenantId, { accountId: a2, amount: 300n, note: "100 percent", partnerId: airline }),
  );
  fixture.advance(minute);
  // Two reductions with the same effective and recording times: only the id can order them.
  const tie = at(-5 * day);
  ok(
    await ledger.reduce(tenantId, {
      accountId: a1,
      amount: 120n,
      note: "under_score",
      storeId: praha,
      effectiveAt: tie,
    }),
  );
  const r5 = ok(await ledger.reduce(tenantId, { accountId: a1, amount: 120n, note: "underXscore", effectiveAt: tie }));
  ok(
    await ledger.transfer(tenantId, {
      sourceAccountId: a1,
      targetAccountId: a2,
      amount: 50n,
      note: "O'Brien's tip",
      partnerId: cafe,
    }),
  );
  fixture.advance(minute);
  ok(
    await ledger.transfer(tenantId, {
      sourceAccountId: a2,
      targetAccountId: b1,
      amount: 40n,
      note: "C:\\temp\\path",
      storeId: brno,
      initiator: user,
    }),
  );
  ok(await ledger.deposit(tenantId, { accountId: a3, amount: 1999n, note: "Čerstvá KÁVA", storeId: praha }));
  ok(
    await ledger.deposit(tenantId, {
      accountId: a3,
      amount: 7n,
      note: "čerstvá káva zdarma",
      externalReference: "Ábc",
    }),
  );
  fixture.advance(minute);
  ok(await ledger.reverse(tenantId, { actionId: r5.action.id, note: "oops" }));
  ok(await ledger.voidGrant(tenantId, { grantId: d3.grants[0]!.id, note: "fraud" }));
  ok(
    await ledger.deposit(tenantId, {
      accountId: b1,
      amount: 100n,
      note: "ＫＡＶＡ fullwidth",
      effectiveAt: d2Effective,
      externalReference: "invoice:2",
    }),
  );
  ok(await ledger.deposit(tenantId, { accountId: big, amount: 9_223_372_036_854_775_000n }));

  // Filler with repeating amounts, notes, stores and times, so that every order has ties to break.
  const targets = [a1, a2, b1];
  const initiators = [user, apiKey, { type: "SYSTEM" } as const];
  for (let i = 0; i < 14; i++) {
    ok(
      await ledger.deposit(tenantId, {
        accountId: targets[i % 3]!,
        amount: [10n, 20n, 10n, 30n][i % 4]!,
        note: notes[i % notes.length],
        storeId: i % 2 === 0 ? praha : i % 3 === 0 ? brno : null,
        partnerId: i % 4 === 1 ? cafe : null,
        externalReference: i % 3 === 0 ? `invoice:${i}` : null,
        effectiveAt: at(-(i % 5) * day - (i % 2) * minute),
        initiator: initiators[i % 3],
      }),
    );
    if (i % 4 !== 0) fixture.advance(1000);
  }
  // The first grant expires; the next write on the account records the expiration before its own action.
  fixture.advance(4 * day);
  ok(await ledger.reduce(tenantId, { accountId: a1, amount: 10n, note: "after expiry" }));

  const otherTenant = ok(await ledger.createTenant({ name: "Other tenant" })).tenant.id;
  const otherCustomer = ok(await ledger.createCustomer(otherTenant, { externalId: "c1" })).customer.id;
  const otherAccount = ok(
    await ledger.openAccount(otherTenant, { customerId: otherCustomer, name: "Points", currency: "PTS" }),
  ).account.id;
  ok(
    await ledger.deposit(otherTenant, {
      accountId: otherAccount,
      amount: 100n,
      note: "Čerstvá KÁVA",
      effectiveAt: at(-day),
    }),
  );
  ok(await ledger.reduce(otherTenant, { accountId: otherAccount, amount: 10n }));

  const accounts = { a1, a2, a3, b1, big, empty };
  const customers = { c1, c2, c3 };
  return {
    fixture,
    tenantId,
    stores: { praha, brno },
    partners: { cafe, airline },
    customers,
    accounts,
    expiringGrant: d1.grants[0]!.id,
    voidedGrant: d3.grants[0]!.id,
    other: { tenantId: otherTenant, customerId: otherCustomer, accountId: otherAccount },
    parents: [
      ...Object.values(accounts).map((id) => ({ kind: "account" as const, id })),
      ...Object.values(customers).map((id) => ({ kind: "customer" as const, id })),
      { kind: "account", id: otherAccount },
      { kind: "customer", id: otherCustomer },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// The independent expectation

type Loaded = CreditEntry & {
  action: CreditAction & {
    allocations: CreditAllocation[];
    store: { name: string } | null;
    partner: { name: string } | null;
  };
};

/** Every entry of the tenant, with its action and the action's allocations, by plain Prisma. */
async function loadAll(database: Database, tenantId: string): Promise<Loaded[]> {
  return database.read.creditEntry.findMany({
    where: { tenantId },
    include: { action: { include: { allocations: true, store: true, partner: true } } },
  });
}

function plain(entry: Loaded): CreditEntry {
  const { action: _action, ...rest } = entry as CreditEntry & { action: unknown };
  return rest;
}

function matches(entry: Loaded, filter: HistoryFilter): boolean {
  const within = (time: Date, from?: Date | null, to?: Date | null) =>
    (!from || time.getTime() >= from.getTime()) && (!to || time.getTime() < to.getTime());
  const query = filter.noteContains ? foldForSearch(filter.noteContains) : "";
  return (
    (!filter.types || filter.types.includes(entry.type)) &&
    (!filter.direction || entry.direction === filter.direction) &&
    (query === "" || (entry.action.note !== null && foldForSearch(entry.action.note).includes(query))) &&
    within(entry.effectiveAt, filter.effectiveFrom, filter.effectiveTo) &&
    within(entry.createdAt, filter.createdFrom, filter.createdTo) &&
    (!filter.storeIds || (entry.storeId !== null && filter.storeIds.includes(entry.storeId))) &&
    (!filter.partnerIds || (entry.partnerId !== null && filter.partnerIds.includes(entry.partnerId))) &&
    (!filter.grantId ||
      entry.action.grantId === filter.grantId ||
      entry.action.allocations.some((allocation) => allocation.grantId === filter.grantId)) &&
    (!filter.initiatorTypes || filter.initiatorTypes.includes(entry.initiatorType)) &&
    (filter.amountMin === undefined || filter.amountMin === null || entry.amount >= filter.amountMin) &&
    (filter.amountMax === undefined || filter.amountMax === null || entry.amount <= filter.amountMax)
  );
}

function sortValue(entry: Loaded, field: HistoryOrderField): number | bigint | string | null {
  switch (field) {
    case "EFFECTIVE_AT":
      return entry.effectiveAt.getTime();
    case "CREATED_AT":
      return entry.createdAt.getTime();
    case "UPDATED_AT":
      return entry.action.updatedAt.getTime();
    case "AMOUNT":
      return entry.amount;
    case "TYPE":
      return entry.type;
    case "DIRECTION":
      return entry.direction;
    case "INITIATOR_TYPE":
      return entry.initiatorType;
    case "CURRENCY":
      return entry.currency;
    case "NOTE":
      return entry.action.note === null ? "" : foldForSearch(entry.action.note);
    case "EXTERNAL_REFERENCE":
      return entry.action.externalReference ?? "";
    case "STORE_NAME":
      return entry.action.store?.name ?? "";
    case "PARTNER_NAME":
      return entry.action.partner?.name ?? "";
    case "ID":
      return null;
  }
}

/** Code point order, which is the order of the UTF-8 bytes. */
function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function compareEntries(a: Loaded, b: Loaded, order: HistoryOrder): number {
  const left = sortValue(a, order.field);
  const right = sortValue(b, order.field);
  let result = 0;
  if (typeof left === "string" && typeof right === "string") result = compareText(left, right);
  else if (left !== null && right !== null) result = left < right ? -1 : left > right ? 1 : 0;
  if (result === 0) result = compareText(a.id, b.id);
  return order.direction === "ASC" ? result : -result;
}

function expectedList(all: Loaded[], parent: HistoryParent, filter: HistoryFilter, order: HistoryOrder): Loaded[] {
  return all
    .filter((entry) => (parent.kind === "account" ? entry.accountId : entry.customerId) === parent.id)
    .filter((entry) => matches(entry, filter))
    .sort((a, b) => compareEntries(a, b, order));
}

const ids = (entries: { id: string }[]) => entries.map((entry) => entry.id);

const allOrders: HistoryOrder[] = historyOrderFields.flatMap((field) => [
  { field, direction: "ASC" as const },
  { field, direction: "DESC" as const },
]);

async function pageOf(
  database: Database,
  tenantId: string,
  parent: HistoryParent,
  filter: HistoryFilter,
  order: HistoryOrder,
  page: HistoryPageRequest,
): Promise<HistoryPage> {
  const result = (await readHistories(database, tenantId, [parent], filter, order, page)).get(parent.id);
  if (!result) throw new Error(`No page for ${parent.id}`);
  return result;
}

/** Pages forward with `first`/`after` to the end, checking each page's flags; returns the ids in order. */
async function walkForward(
  database: Database,
  tenantId: string,
  parent: HistoryParent,
  filter: HistoryFilter,
  order: HistoryOrder,
  size: number,
  between: () => Promise<void> = async () => {},
): Promise<string[]> {
  const seen: string[] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await pageOf(database, tenantId, parent, filter, order, { first: size, after });
    expect(page.cursors).toHaveLength(page.entries.length);
    expect(page.hasPreviousPage).toBe(after !== undefined);
    seen.push(...ids(page.entries));
    if (!page.hasNextPage) break;
    expect(page.entries).toHaveLength(size);
    after = page.endCursor!;
    await between();
  }
  return seen;
}

/** Pages backward with `last`/`before` to the start; returns the ids in the requested order. */
async function walkBackward(
  database: Database,
  tenantId: string,
  parent: HistoryParent,
  filter: HistoryFilter,
  order: HistoryOrder,
  size: number,
  between: () => Promise<void> = async () => {},
): Promise<string[]> {
  let seen: string[] = [];
  let before: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await pageOf(database, tenantId, parent, filter, order, { last: size, before });
    expect(page.hasNextPage).toBe(before !== undefined);
    seen = [...ids(page.entries), ...seen];
    if (!page.hasPreviousPage) break;
    expect(page.entries).toHaveLength(size);
    before = page.startCursor!;
    await between();
  }
  return seen;
}

/** A cursor in the encoder's format, for the refusal tests. */
function craftCursor(parts: unknown): string {
  return Buffer.from(JSON.stringify(parts), "utf8").toString("base64url");
}

// ---------------------------------------------------------------------------------------------------------

let data: Dataset;
let all: Loaded[];

beforeAll(async () => {
  data = await buildDataset();
  all = await loadAll(data.fixture.database, data.tenantId);
});

afterAll(async () => {
  if (!data) return;
  await data.fixture.verifyClean();
  await data.fixture.drop();
});

describe("the test ledger", () => {
  it("has what the other tests rely on", () => {
    const c1 = expectedList(all, { kind: "customer", id: data.customers.c1 }, {}, { field: "ID", direction: "ASC" });
    expect(c1.length).toBeGreaterThan(historyPageLimits.default);
    expect(c1.length).toBeLessThan(historyPageLimits.max);
    expect(new Set(all.map((entry) => entry.type))).toEqual(
      new Set(["DEPOSIT", "REDUCTION", "TRANSFER", "REVERSAL", "VOID", "EXPIRATION"]),
    );
    expect(new Set(all.map((entry) => entry.initiatorType))).toEqual(new Set(["USER", "API_KEY", "SYSTEM"]));
  });
});

describe("ordering", () => {
  it.each(allOrders.map((order) => [`${order.field} ${order.direction}`, order] as const))(
    "orders every parent's whole history by %s, ties broken by id, with exact entries",
    async (_name, order) => {
      const pages = await readHistories(data.fixture.database, data.tenantId, data.parents, {}, order, {
        first: historyPageLimits.max,
      });
      expect([...pages.keys()].sort()).toEqual(data.parents.map((parent) => parent.id).sort());
      for (const parent of data.parents) {
        const page = pages.get(parent.id)!;
        const expected = expectedList(all, parent, {}, order);
        // Whole CreditEntry objects: bigint amounts (one near the 64-bit limit) and times must be exact.
        expect(page.entries).toEqual(expected.map(plain));
        expect(page.hasNextPage).toBe(false);
        expect(page.hasPreviousPage).toBe(false);
        expect(page.startCursor).toBe(page.cursors[0] ?? null);
        expect(page.endCursor).toBe(page.cursors.at(-1) ?? null);
      }
    },
  );

  it("sorts missing notes and references as empty text: first ascending, last descending", async () => {
    const parent = { kind: "customer" as const, id: data.customers.c2 };
    for (const field of ["NOTE", "EXTERNAL_REFERENCE"] as const) {
      const ascending = (
        await pageOf(data.fixture.database, data.tenantId, parent, {}, { field, direction: "ASC" }, { first: 100 })
      ).entries;
      const descending = (
        await pageOf(data.fixture.database, data.tenantId, parent, {}, { field, direction: "DESC" }, { first: 100 })
      ).entries;
      const bare = new Set(
        all
          .filter(
            (entry) =>
              entry.customerId === parent.id &&
              (field === "NOTE" ? entry.action.note : entry.action.externalReference) === null,
          )
          .map((entry) => entry.id),
      );
      expect(bare.size).toBeGreaterThan(0);
      expect(new Set(ids(ascending.slice(0, bare.size)))).toEqual(bare);
      expect(new Set(ids(descending.slice(-bare.size)))).toEqual(bare);
    }
  });

  it("uses the default order (latest effective first) and the default page size", async () => {
    const parent = { kind: "customer" as const, id: data.customers.c1 };
    const page = (await readHistories(data.fixture.database, data.tenantId, [parent])).get(parent.id)!;
    const expected = expectedList(all, parent, {}, { field: "EFFECTIVE_AT", direction: "DESC" });
    expect(ids(page.entries)).toEqual(ids(expected.slice(0, historyPageLimits.default)));
    expect(page.hasNextPage).toBe(true);
  });
});

describe("filters", () => {
  const entryAt = (predicate: (entry: Loaded) => boolean) => {
    const entry = all.find(predicate);
    if (!entry) throw new Error("No such entry in the test ledger");
    return entry;
  };

  const filters = (): [string, HistoryFilter][] => {
    const tieTime = entryAt((entry) => entry.action.note === "under_score").effectiveAt;
    const depositTime = entryAt((entry) => entry.action.note === "100% cashback").effectiveAt;
    const createdTimes = [...new Set(all.map((entry) => entry.createdAt.getTime()))].sort((a, b) => a - b);
    const middleCreated = new Date(createdTimes[Math.floor(createdTimes.length / 2)]!);
    return [
      ["types: one", { types: ["REDUCTION"] }],
      ["types: several", { types: ["DEPOSIT", "VOID", "EXPIRATION"] }],
      ["types: none", { types: [] }],
      ["direction: CREDIT", { direction: "CREDIT" }],
      ["direction: DEBIT", { direction: "DEBIT" }],
      ["note: Czech in other case", { noteContains: "ČERSTVÁ káva" }],
      ["note: accents matter", { noteContains: "kava" }],
      ["note: full-width folds", { noteContains: "ｋａｖａ" }],
      ["note: % is literal", { noteContains: "%" }],
      ["note: full-width % folds to %", { noteContains: "％" }],
      ["note: _ is literal", { noteContains: "under_score" }],
      ["note: lone _", { noteContains: "_" }],
      ["note: quote", { noteContains: "'" }],
      ["note: backslash", { noteContains: "\\" }],
      ["note: backslash and letters", { noteContains: ":\\TEMP\\" }],
      ["note: empty means no filter", { noteContains: "" }],
      ["note: no match", { noteContains: "nothing like this" }],
      ["effective: from, inclusive", { effectiveFrom: tieTime }],
      ["effective: to, exclusive", { effectiveTo: tieTime }],
      ["effective: one instant", { effectiveFrom: depositTime, effectiveTo: new Date(depositTime.getTime() + 1) }],
      [
        "effective: none in the millisecond before (to is exclusive)",
        { effectiveFrom: new Date(depositTime.getTime() - 1), effectiveTo: depositTime },
      ],
      ["effective: beyond the storable range", { effectiveFrom: new Date(-5e14), effectiveTo: new Date(8.64e15) }],
      ["effective: entirely before 1970", { effectiveTo: new Date(-1000) }],
      ["effective: entirely after 9999", { effectiveFrom: new Date(3e14) }],
      ["created: from", { createdFrom: middleCreated }],
      ["created: to", { createdTo: middleCreated }],
      ["stores: one", { storeIds: [data.stores.praha] }],
      ["stores: both", { storeIds: [data.stores.praha, data.stores.brno] }],
      ["stores: none", { storeIds: [] }],
      ["partners: one", { partnerIds: [data.partners.cafe] }],
      ["partners: unknown", { partnerIds: ["not-a-partner"] }],
      ["grant: credited, spent, transferred, refilled, expired", { grantId: data.expiringGrant }],
      ["grant: voided", { grantId: data.voidedGrant }],
      ["initiators: one", { initiatorTypes: ["USER"] }],
      ["initiators: two", { initiatorTypes: ["API_KEY", "SYSTEM"] }],
      ["amount: min inclusive", { amountMin: 120n }],
      ["amount: max inclusive", { amountMax: 120n }],
      ["amount: exact", { amountMin: 20n, amountMax: 20n }],
      ["amount: near the 64-bit limit", { amountMin: 9_223_372_036_854_775_000n }],
      ["amount: beyond the 64-bit range", { amountMin: -(2n ** 70n), amountMax: 2n ** 70n }],
      ["amount: above every amount", { amountMin: 2n ** 64n }],
      [
        "combined",
        {
          types: ["DEPOSIT"],
          storeIds: [data.stores.praha],
          noteContains: "káva",
          amountMax: 1999n,
          direction: "CREDIT",
        },
      ],
    ];
  };

  it("filters by each condition, counts alike, for every parent in one call", async () => {
    const order: HistoryOrder = { field: "EFFECTIVE_AT", direction: "DESC" };
    for (const [name, filter] of filters()) {
      const pages = await readHistories(data.fixture.database, data.tenantId, data.parents, filter, order, {
        first: 100,
      });
      const counts = await countHistories(data.fixture.database, data.tenantId, data.parents, filter);
      let total = 0;
      for (const parent of data.parents) {
        const expected = expectedList(all, parent, filter, order);
        total += expected.length;
        expect(ids(pages.get(parent.id)!.entries), `${name}, ${parent.kind} ${parent.id}`).toEqual(ids(expected));
        expect(counts.get(parent.id), `${name}, count of ${parent.kind} ${parent.id}`).toBe(expected.length);
      }
      // A filter that matches nothing everywhere must be one of those meant to.
      if (total === 0) expect(name).toMatch(/none|no match|unknown|before 1970|after 9999|above every/);
    }
  });

  it("filters and orders together, by every order", async () => {
    const filter: HistoryFilter = { types: ["DEPOSIT", "REDUCTION", "TRANSFER"], amountMax: 500n };
    for (const order of allOrders) {
      const pages = await readHistories(data.fixture.database, data.tenantId, data.parents, filter, order, {
        first: 100,
      });
      for (const parent of data.parents) {
        expect(ids(pages.get(parent.id)!.entries)).toEqual(ids(expectedList(all, parent, filter, order)));
      }
    }
  });
});

describe("keyset pagination", () => {
  const c1 = (): HistoryParent => ({ kind: "customer", id: data.customers.c1 });

  it.each(allOrders.map((order) => [`${order.field} ${order.direction}`, order] as const))(
    "walks the whole list by %s forward and backward without gaps or duplicates",
    async (_name, order) => {
      const expected = ids(expectedList(all, c1(), {}, order));
      expect(await walkForward(data.fixture.database, data.tenantId, c1(), {}, order, 4)).toEqual(expected);
      expect(await walkBackward(data.fixture.database, data.tenantId, c1(), {}, order, 4)).toEqual(expected);
    },
  );

  it("walks a filtered list, with page sizes that divide it and that do not", async () => {
    const filter: HistoryFilter = { direction: "CREDIT" };
    for (const order of [
      { field: "AMOUNT", direction: "DESC" },
      { field: "NOTE", direction: "ASC" },
    ] as HistoryOrder[]) {
      const expected = ids(expectedList(all, c1(), filter, order));
      for (const size of [1, 3, expected.length, historyPageLimits.max]) {
        expect(await walkForward(data.fixture.database, data.tenantId, c1(), filter, order, size)).toEqual(expected);
        expect(await walkBackward(data.fixture.database, data.tenantId, c1(), filter, order, size)).toEqual(expected);
      }
    }
  });

  it("answers hasPreviousPage and hasNextPage exactly for any cursor, in any parent", async () => {
    // Cursors of one parent's entries applied to every parent: the cursor is a position in the order, and a
    // parent has a previous (or next) page exactly when one of its own rows lies on that side of it.
    for (const order of [
      { field: "EFFECTIVE_AT", direction: "ASC" },
      { field: "AMOUNT", direction: "DESC" },
      { field: "NOTE", direction: "DESC" },
    ] as HistoryOrder[]) {
      const source = await pageOf(data.fixture.database, data.tenantId, c1(), {}, order, { first: 100 });
      const byId = new Map(all.map((entry) => [entry.id, entry]));
      for (const index of [0, 1, Math.floor(source.entries.length / 2), source.entries.length - 1]) {
        const position = byId.get(source.entries[index]!.id)!;
        const cursor = source.cursors[index]!;
        const forward = await readHistories(data.fixture.database, data.tenantId, data.parents, {}, order, {
          first: 3,
          after: cursor,
        });
        const backward = await readHistories(data.fixture.database, data.tenantId, data.parents, {}, order, {
          last: 3,
          before: cursor,
        });
        for (const parent of data.parents) {
          const list = expectedList(all, parent, {}, order);
          const later = list.filter((entry) => compareEntries(entry, position, order) > 0);
          const earlier = list.filter((entry) => compareEntries(entry, position, order) < 0);
          const forwardPage = forward.get(parent.id)!;
          expect(ids(forwardPage.entries)).toEqual(ids(later.slice(0, 3)));
          expect(forwardPage.hasNextPage).toBe(later.length > 3);
          expect(forwardPage.hasPreviousPage).toBe(list.length > later.length);
          const backwardPage = backward.get(parent.id)!;
          expect(ids(backwardPage.entries)).toEqual(ids(earlier.slice(-3)));
          expect(backwardPage.hasPreviousPage).toBe(earlier.length > 3);
          expect(backwardPage.hasNextPage).toBe(list.length > earlier.length);
        }
      }
    }
  });

  it("gives the last entries with last alone, and nothing after the end", async () => {
    const order: HistoryOrder = { field: "CREATED_AT", direction: "DESC" };
    const expected = ids(expectedList(all, c1(), {}, order));
    const last = await pageOf(data.fixture.database, data.tenantId, c1(), {}, order, { last: 5 });
    expect(ids(last.entries)).toEqual(expected.slice(-5));
    expect(last.hasNextPage).toBe(false);
    expect(last.hasPreviousPage).toBe(true);
    const beyond = await pageOf(data.fixture.database, data.tenantId, c1(), {}, order, {
      first: 5,
      after: last.endCursor!,
    });
    expect(beyond).toEqual({
      entries: [],
      actions: [],
      stores: [],
      partners: [],
      cursors: [],
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: null,
      endCursor: null,
    });
  });
});

describe("offset paging", () => {
  it("pages by offset from the start of the filtered, ordered list", async () => {
    const parent: HistoryParent = { kind: "customer", id: data.customers.c1 };
    const filter: HistoryFilter = { types: ["DEPOSIT", "REDUCTION", "TRANSFER", "EXPIRATION"] };
    const order: HistoryOrder = { field: "AMOUNT", direction: "ASC" };
    const expected = ids(expectedList(all, parent, filter, order));
    const perPage = 4;
    const collected: string[] = [];
    // Thought Industries' page n is offset (n - 1) * perPage.
    for (let pageNumber = 1; (pageNumber - 1) * perPage <= expected.length; pageNumber++) {
      const offset = (pageNumber - 1) * perPage;
      const page = await pageOf(data.fixture.database, data.tenantId, parent, filter, order, {
        first: perPage,
        offset,
      });
      expect(ids(page.entries)).toEqual(expected.slice(offset, offset + perPage));
      expect(page.hasPreviousPage).toBe(offset > 0);
      expect(page.hasNextPage).toBe(offset + perPage < expected.length);
      collected.push(...ids(page.entries));
    }
    expect(collected).toEqual(expected);

    const alone = await pageOf(data.fixture.database, data.tenantId, parent, filter, order, { offset: 2 });
    expect(ids(alone.entries)).toEqual(expected.slice(2, 2 + historyPageLimits.default));
    const pastTheEnd = await pageOf(data.fixture.database, data.tenantId, parent, filter, order, {
      first: 5,
      offset: expected.length + 10,
    });
    expect(pastTheEnd).toMatchObject({ entries: [], hasNextPage: false, hasPreviousPage: true });
    const empty = await pageOf(
      data.fixture.database,
      data.tenantId,
      { kind: "customer", id: data.customers.c3 },
      filter,
      order,
      { offset: 5 },
    );
    expect(empty).toMatchObject({ entries: [], hasNextPage: false, hasPreviousPage: false });
  });

  it("continues from an offset page's cursor", async () => {
    const parent: HistoryParent = { kind: "account", id: data.accounts.a1 };
    const order: HistoryOrder = { field: "EFFECTIVE_AT", direction: "DESC" };
    const expected = ids(expectedList(all, parent, {}, order));
    const page = await pageOf(data.fixture.database, data.tenantId, parent, {}, order, { first: 3, offset: 3 });
    const next = await pageOf(data.fixture.database, data.tenantId, parent, {}, order, {
      first: 3,
      after: page.endCursor!,
    });
    expect(ids(next.entries)).toEqual(expected.slice(6, 9));
  });
});

describe("batching and tenancy", () => {
  it("answers several parents in one call exactly as one parent at a time", async () => {
    const order: HistoryOrder = { field: "UPDATED_AT", direction: "DESC" };
    const filter: HistoryFilter = { noteContains: "a" };
    const cursor = (
      await pageOf(data.fixture.database, data.tenantId, { kind: "customer", id: data.customers.c1 }, filter, order, {
        first: 4,
      })
    ).endCursor!;
    for (const page of [
      { first: 3 },
      { first: 2, after: cursor },
      { last: 2, before: cursor },
      { first: 2, offset: 1 },
    ] as HistoryPageRequest[]) {
      const together = await readHistories(data.fixture.database, data.tenantId, data.parents, filter, order, page);
      for (const parent of data.parents) {
        const alone = await readHistories(data.fixture.database, data.tenantId, [parent], filter, order, page);
        expect(together.get(parent.id)).toEqual(alone.get(parent.id));
      }
    }
  });

  it("never shows another tenant's rows: their parents have empty histories", async () => {
    const foreign: HistoryParent[] = [
      { kind: "account", id: data.other.accountId },
      { kind: "customer", id: data.other.customerId },
    ];
    const pages = await readHistories(
      data.fixture.database,
      data.tenantId,
      foreign,
      {},
      { field: "ID", direction: "ASC" },
      { first: 100 },
    );
    for (const parent of foreign) {
      expect(pages.get(parent.id)).toEqual({
        entries: [],
        actions: [],
        stores: [],
        partners: [],
        cursors: [],
        hasNextPage: false,
        hasPreviousPage: false,
        startCursor: null,
        endCursor: null,
      });
    }
    const counts = await countHistories(data.fixture.database, data.tenantId, foreign);
    expect([...counts.values()]).toEqual([0, 0]);

    // The other tenant sees its own rows, and none of ours.
    const own = await readHistories(data.fixture.database, data.other.tenantId, [
      ...foreign,
      { kind: "customer", id: data.customers.c1 },
    ]);
    expect(own.get(data.other.customerId)!.entries).toHaveLength(2);
    expect(own.get(data.customers.c1)!.entries).toEqual([]);

    // A cursor from another tenant's history is only a position: it reveals nothing of theirs.
    const theirs = await pageOf(
      data.fixture.database,
      data.other.tenantId,
      foreign[1]!,
      {},
      { field: "ID", direction: "ASC" },
      { first: 1 },
    );
    const page = await pageOf(
      data.fixture.database,
      data.tenantId,
      foreign[1]!,
      {},
      { field: "ID", direction: "ASC" },
      { first: 5, after: theirs.endCursor! },
    );
    expect(page).toMatchObject({ entries: [], hasNextPage: false, hasPreviousPage: false });
  });

  it("answers unknown parents with empty pages and no parents with an empty map", async () => {
    const pages = await readHistories(data.fixture.database, data.tenantId, [{ kind: "account", id: "missing" }]);
    expect(pages.get("missing")!.entries).toEqual([]);
    expect((await readHistories(data.fixture.database, data.tenantId, [])).size).toBe(0);
    expect((await countHistories(data.fixture.database, data.tenantId, [])).size).toBe(0);
  });
});

describe("refused arguments", () => {
  const parent = (): HistoryParent => ({ kind: "customer", id: data.customers.c1 });
  const order: HistoryOrder = { field: "EFFECTIVE_AT", direction: "DESC" };

  async function refusal(call: () => Promise<unknown>): Promise<HistoryArgumentError> {
    try {
      await call();
    } catch (error) {
      expect(error).toBeInstanceOf(HistoryArgumentError);
      expect((error as Error).message.length).toBeGreaterThan(10);
      return error as HistoryArgumentError;
    }
    throw new Error("Expected a HistoryArgumentError, but the call succeeded.");
  }
  const read = (page: HistoryPageRequest, filter: HistoryFilter = {}, readOrder: HistoryOrder = order) =>
    refusal(() => readHistories(data.fixture.database, data.tenantId, [parent()], filter, readOrder, page));

  it("refuses page sizes outside 1..max and bad offsets", async () => {
    for (const [page, field] of [
      [{ first: 0 }, "first"],
      [{ first: historyPageLimits.max + 1 }, "first"],
      [{ first: 2.5 }, "first"],
      [{ first: -1 }, "first"],
      [{ last: 0 }, "last"],
      [{ last: historyPageLimits.max + 1 }, "last"],
    ] as [HistoryPageRequest, string][]) {
      expect(await read(page)).toMatchObject({
        code: "PAGE_SIZE_OUT_OF_RANGE",
        field,
        params: { min: "1", max: String(historyPageLimits.max) },
      });
    }
    expect(await read({ first: 5, offset: -1 })).toMatchObject({ code: "OFFSET_OUT_OF_RANGE", field: "offset" });
    expect(await read({ offset: 1.5 })).toMatchObject({ code: "OFFSET_OUT_OF_RANGE", field: "offset" });
    // The largest page size is allowed, and null counts as absent (as GraphQL passes it).
    await readHistories(data.fixture.database, data.tenantId, [parent()], {}, order, {
      first: historyPageLimits.max,
      after: null,
      last: null,
      before: null,
      offset: null,
    });
  });

  it("refuses combinations of paging arguments that have no meaning", async () => {
    const cursor = (await pageOf(data.fixture.database, data.tenantId, parent(), {}, order, { first: 2 })).endCursor!;
    for (const [page, field] of [
      [{ first: 2, last: 2 }, "last"],
      [{ after: cursor, before: cursor }, "before"],
      [{ first: 2, after: cursor, offset: 2 }, "offset"],
      [{ before: cursor, offset: 2 }, "offset"],
      [{ last: 2, offset: 2 }, "offset"],
      [{ last: 2, after: cursor }, "after"],
      [{ first: 2, before: cursor }, "before"],
    ] as [HistoryPageRequest, string][]) {
      expect(await read(page)).toMatchObject({ code: "INVALID_PAGINATION", field });
    }
  });

  it("refuses cursors that do not decode or belong to another order, naming the argument", async () => {
    const cursor = (await pageOf(data.fixture.database, data.tenantId, parent(), {}, order, { first: 2 })).endCursor!;
    const entryId = (await pageOf(data.fixture.database, data.tenantId, parent(), {}, order, { first: 2 })).entries[1]!
      .id;
    const bad = [
      "",
      "not a cursor!",
      "bm90IGpzb24",
      craftCursor({ field: "EFFECTIVE_AT" }),
      craftCursor(["EFFECTIVE_AT", "DESC", "2026-03-01T10:00:00.000Z"]),
      craftCursor(["EFFECTIVE_AT", "DESC", "yesterday", entryId]),
      craftCursor(["EFFECTIVE_AT", "DESC", "2026-03-01T10:00:00Z", entryId]),
      craftCursor(["EFFECTIVE_AT", "DESC", "2026-03-01T10:00:00.000Z", ""]),
      craftCursor(["EFFECTIVE_AT", "DESC", 5, entryId]),
      // Valid cursors, but of other orders.
      craftCursor(["EFFECTIVE_AT", "ASC", "2026-03-01T10:00:00.000Z", entryId]),
      (
        await pageOf(
          data.fixture.database,
          data.tenantId,
          parent(),
          {},
          { field: "AMOUNT", direction: "DESC" },
          { first: 1 },
        )
      ).endCursor!,
    ];
    for (const text of bad) {
      const after = await read({ first: 2, after: text });
      expect(after).toBeInstanceOf(HistoryCursorError);
      expect(after).toMatchObject({ code: "INVALID_CURSOR", field: "after" });
      expect(await read({ last: 2, before: text })).toMatchObject({ code: "INVALID_CURSOR", field: "before" });
    }
    const amountOrder: HistoryOrder = { field: "AMOUNT", direction: "ASC" };
    for (const value of ["1.5", "ten", "99999999999999999999"]) {
      expect(
        await read({ first: 2, after: craftCursor(["AMOUNT", "ASC", value, entryId]) }, {}, amountOrder),
      ).toMatchObject({ code: "INVALID_CURSOR" });
    }
    // The genuine cursor is accepted.
    await readHistories(data.fixture.database, data.tenantId, [parent()], {}, order, { first: 2, after: cursor });
  });

  it("refuses malformed filters and orders", async () => {
    const cases: [HistoryFilter, string][] = [
      [{ types: ["BOGUS" as never] }, "filter.types"],
      [{ initiatorTypes: ["ROBOT" as never] }, "filter.initiatorTypes"],
      [{ direction: "UP" as never }, "filter.direction"],
      [{ effectiveFrom: new Date(Number.NaN) }, "filter.effectiveFrom"],
      [{ createdTo: "yesterday" as never }, "filter.createdTo"],
      [{ amountMin: 5 as never }, "filter.amountMin"],
      [{ storeIds: Array.from({ length: 101 }, (_, index) => `store-${index}`) }, "filter.storeIds"],
      [{ noteContains: "x".repeat(1001) }, "filter.noteContains"],
    ];
    for (const [filter, field] of cases) {
      expect(await read({}, filter)).toMatchObject({ code: "INVALID_FILTER", field });
      expect(
        await refusal(() => countHistories(data.fixture.database, data.tenantId, [parent()], filter)),
      ).toMatchObject({ code: "INVALID_FILTER", field });
    }
    expect(await read({}, {}, { field: "BALANCE" as never, direction: "ASC" })).toMatchObject({
      code: "INVALID_ORDER",
      field: "orderBy.field",
    });
    expect(await read({}, {}, { field: "AMOUNT", direction: "UP" as never })).toMatchObject({
      code: "INVALID_ORDER",
      field: "orderBy.direction",
    });
  });
});

describe("statements", () => {
  it("reads any number of parents with one statement, whatever the page size, and refuses without any", async () => {
    const statements: string[] = [];
    const counted = await openDatabase(data.fixture.testDatabase.url, {
      onQuery: (event) => statements.push(event.query),
    });
    try {
      const tenParents = data.parents.slice(0, 10);
      expect(tenParents).toHaveLength(10);
      expect(new Set(tenParents.map((parent) => parent.kind))).toEqual(new Set(["account", "customer"]));
      const order: HistoryOrder = { field: "EFFECTIVE_AT", direction: "DESC" };
      const cursor = (
        await pageOf(counted, data.tenantId, { kind: "customer", id: data.customers.c1 }, {}, order, { first: 5 })
      ).endCursor!;
      const calls: [string, () => Promise<unknown>][] = [
        ["2 parents, 20 each", () => readHistories(counted, data.tenantId, tenParents.slice(0, 2), {}, order, {})],
        ["10 parents, 20 each", () => readHistories(counted, data.tenantId, tenParents, {}, order, {})],
        ["10 parents, 100 each", () => readHistories(counted, data.tenantId, tenParents, {}, order, { first: 100 })],
        [
          "10 parents after a cursor",
          () => readHistories(counted, data.tenantId, tenParents, {}, order, { first: 20, after: cursor }),
        ],
        [
          "10 parents before a cursor",
          () => readHistories(counted, data.tenantId, tenParents, {}, order, { last: 20, before: cursor }),
        ],
        [
          "10 parents at an offset",
          () =>
            readHistories(
              counted,
              data.tenantId,
              tenParents,
              { grantId: data.expiringGrant },
              { field: "NOTE", direction: "ASC" },
              { first: 20, offset: 3 },
            ),
        ],
        ["10 counts", () => countHistories(counted, data.tenantId, tenParents, { noteContains: "káva" })],
      ];
      for (const [name, call] of calls) {
        statements.length = 0;
        await call();
        expect(statements, name).toHaveLength(1);
      }
      statements.length = 0;
      await expect(readHistories(counted, data.tenantId, tenParents, {}, order, { first: 0 })).rejects.toBeInstanceOf(
        HistoryArgumentError,
      );
      expect(statements).toHaveLength(0);
    } finally {
      await counted.close();
    }
  });
});

describe("pagination while the ledger changes", () => {
  it("neither repeats nor skips any existing entry when actions are added between page requests", async () => {
    const fixture = await createLedgerFixture();
    try {
      const customerId = await fixture.customer();
      const first = await fixture.account({ customerId });
      const second = await fixture.account({ customerId });
      let step = 0;
      const write = async () => {
        step++;
        const accountId = step % 2 === 0 ? first : second;
        // Backdated and current, large and small: new rows land before, inside and after the pages read.
        const effectiveAt = new Date(fixture.now().getTime() - (step % 4) * day);
        ok(
          await fixture.ledger.deposit(fixture.tenantId, {
            accountId,
            amount: BigInt(10 + (step % 7) * 5),
            effectiveAt,
            note: `step ${step}`,
          }),
        );
        if (step % 3 === 0)
          ok(
            await fixture.ledger.transfer(fixture.tenantId, {
              sourceAccountId: accountId,
              targetAccountId: accountId === first ? second : first,
              amount: 5n,
            }),
          );
        fixture.advance(1000);
      };
      for (let index = 0; index < 15; index++) await write();

      const parent: HistoryParent = { kind: "customer", id: customerId };
      for (const order of [
        { field: "EFFECTIVE_AT", direction: "DESC" },
        { field: "EFFECTIVE_AT", direction: "ASC" },
        { field: "CREATED_AT", direction: "ASC" },
        { field: "AMOUNT", direction: "DESC" },
        { field: "NOTE", direction: "ASC" },
      ] as HistoryOrder[]) {
        for (const walk of [walkForward, walkBackward]) {
          const existing = await loadAll(fixture.database, fixture.tenantId);
          // Writes on the first page turns only: enough to land rows before, inside and after the pages
          // still to come, while every walk still reaches the end of the list.
          let turns = 0;
          const seen = await walk(fixture.database, fixture.tenantId, parent, {}, order, 3, async () => {
            if (turns++ < 6) await write();
          });
          expect(new Set(seen).size).toBe(seen.length);
          const seenSet = new Set(seen);
          expect(
            existing.filter((entry) => !seenSet.has(entry.id)).map((entry) => entry.id),
            `${order.field} ${order.direction}, ${walk.name}`,
          ).toEqual([]);
          // What was read is in order by the final data too (nothing read ever changes its sort key here).
          const now = new Map((await loadAll(fixture.database, fixture.tenantId)).map((entry) => [entry.id, entry]));
          const read = seen.map((id) => now.get(id)!);
          expect(ids([...read].sort((a, b) => compareEntries(a, b, order)))).toEqual(seen);
        }
      }
      await fixture.verifyClean();
    } finally {
      await fixture.drop();
    }
  });
});
