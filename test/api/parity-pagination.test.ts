// Parity of paging with the APIs the gateway replaces: Relay cursors both ways (Stripe's starting_after and
// ending_before, Inveterate's opaque forward cursor), bounded page sizes, and pages that stay consistent
// while new actions are written between two requests. Each file's history is its own, because these tests
// add to it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, createApiFixture } from "../support/api.ts";
import {
  buildDataset,
  type Dataset,
  historyPage,
  historyRequest,
  keyOf,
  keys,
  type ModelEntry,
  type OrderField,
} from "./history-model.ts";

let api: ApiFixture;
let set: Dataset;

beforeAll(async () => {
  api = await createApiFixture();
  set = await buildDataset(api);
});

afterAll(async () => {
  await api?.drop();
});

/**
 * Writes a one-entry action on the main account and gives it the next recording rank (the model cannot read
 * ranks of new entries from the API without trusting it, and a single entry needs no tie-break inside its
 * action).
 */
async function addAction(
  type: "DEPOSIT" | "REDUCTION",
  amount: string,
  effective?: { send: string; instant: string },
): Promise<ModelEntry> {
  const action = await set.model.run({
    type,
    input: {
      accountId: set.accounts.main,
      amount,
      note: `added ${type.toLowerCase()}`,
      ...(effective ? { effectiveAt: effective.send } : {}),
    },
    effectiveInstant: effective?.instant,
  });
  const entry = action.entries[0]!;
  set.model.rank.set(entry.key, set.model.rank.size);
  return entry;
}

const parent = () => ({ kind: "customer" as const, id: set.customer });

describe("Relay pagination while the history grows", () => {
  it("Stripe/Inveterate forward cursors (first/after): no gaps or duplicates while actions are added between pages", async () => {
    for (const order of [
      { field: "ID", direction: "ASC" },
      { field: "EFFECTIVE_AT", direction: "DESC" },
      { field: "AMOUNT", direction: "ASC" },
    ] as { field: OrderField; direction: "ASC" | "DESC" }[]) {
      const walked: string[] = [];
      // Entries added where the walk had already passed cannot show up in it; everything else must, once.
      const passed = new Set<string>();
      let after: string | null = null;
      let pages = 0;
      let lastKey: string | null = null;
      for (;;) {
        const page = await historyPage(api, set.customer, "customer", { first: 4, after, orderBy: order });
        walked.push(...page.edges.map(keyOf));
        expect(page.pageInfo.hasPreviousPage).toBe(pages > 0);
        pages += 1;
        lastKey = walked[walked.length - 1] ?? lastKey;
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
        // Alternately a current action, an action backdated before everything, and a large one.
        const added =
          pages % 3 === 0
            ? await addAction("DEPOSIT", "7")
            : pages % 3 === 1
              ? await addAction("DEPOSIT", "3", { send: "2024-01-15 08:00:00", instant: "2024-01-15T07:00:00Z" })
              : await addAction("REDUCTION", "1");
        const order_ = keys(set.model.history(parent(), { order }));
        if (order_.indexOf(added.key) < order_.indexOf(lastKey!)) passed.add(added.key);
      }
      const expected = keys(set.model.history(parent(), { order })).filter((key) => !passed.has(key));
      expect(new Set(walked).size).toBe(walked.length);
      expect({ order, walked }).toEqual({ order, walked: expected });
      expect(pages).toBeGreaterThan(7);
    }
  });

  it("Stripe backward cursors (last/before): no gaps or duplicates while actions are added between pages", async () => {
    for (const order of [
      { field: "EFFECTIVE_AT", direction: "DESC" },
      { field: "ID", direction: "ASC" },
    ] as { field: OrderField; direction: "ASC" | "DESC" }[]) {
      let walked: string[] = [];
      const passed = new Set<string>();
      let before: string | null = null;
      let pages = 0;
      for (;;) {
        const page = await historyPage(api, set.customer, "customer", { last: 5, before, orderBy: order });
        walked = [...page.edges.map(keyOf), ...walked];
        // Walking backward, hasNextPage says whether anything follows the page: only the first page from the end has nothing.
        expect(page.pageInfo.hasNextPage).toBe(pages > 0);
        pages += 1;
        if (!page.pageInfo.hasPreviousPage) break;
        before = page.pageInfo.startCursor;
        const firstKey = walked[0]!;
        const added =
          pages % 2 === 0
            ? await addAction("DEPOSIT", "11")
            : await addAction("DEPOSIT", "2", { send: "2023-06-01T12:00:00+02:00", instant: "2023-06-01T10:00:00Z" });
        const order_ = keys(set.model.history(parent(), { order }));
        if (order_.indexOf(added.key) > order_.indexOf(firstKey)) passed.add(added.key);
      }
      const expected = keys(set.model.history(parent(), { order })).filter((key) => !passed.has(key));
      expect(new Set(walked).size).toBe(walked.length);
      expect({ order, walked }).toEqual({ order, walked: expected });
    }
  });

  it("Stripe has_more: hasNextPage and hasPreviousPage on pages in the middle, at both ends, and of an empty list", async () => {
    const all = keys(set.model.history(parent()));
    const middle = await historyPage(api, set.customer, "customer", {
      first: 5,
      after: (await historyPage(api, set.customer, "customer", { first: 5 })).pageInfo.endCursor,
    });
    expect(middle.edges.map(keyOf)).toEqual(all.slice(5, 10));
    expect(middle.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const tail = await historyPage(api, set.customer, "customer", { last: 3 });
    expect(tail.edges.map(keyOf)).toEqual(all.slice(-3));
    expect(tail.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const before = await historyPage(api, set.customer, "customer", { last: 100, before: middle.pageInfo.startCursor });
    expect(before.edges.map(keyOf)).toEqual(all.slice(0, 5));
    expect(before.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const none = await historyPage(api, set.customer, "customer", { first: 5, filter: { note: "no such note" } });
    expect(none).toEqual({
      totalCount: 0,
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it("Inveterate opaque cursor: a cursor of another order, a forged or a broken one is refused with INVALID_CURSOR", async () => {
    const byAmount = await historyPage(api, set.customer, "customer", {
      first: 2,
      orderBy: { field: "AMOUNT", direction: "ASC" },
    });
    for (const args of [
      { first: 2, after: byAmount.pageInfo.endCursor },
      { first: 2, after: "not a cursor" },
      { first: 2, after: "eyJ4IjoxfQ" },
      { last: 2, before: byAmount.pageInfo.endCursor },
    ]) {
      const refused = await historyRequest(api, set.customer, "customer", args);
      expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(["INVALID_CURSOR"]);
    }
    for (const args of [
      { first: 2, last: 2 },
      { first: 2, before: byAmount.pageInfo.endCursor, orderBy: { field: "AMOUNT", direction: "ASC" } },
    ]) {
      const refused = await historyRequest(api, set.customer, "customer", args);
      expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(["INVALID_PAGINATION"]);
    }
  });
});

describe("Page sizes", () => {
  it("Stripe limit 1..100: a history page above 100 is refused with PAGE_SIZE_OUT_OF_RANGE and a clear message", async () => {
    for (const [kind, id] of [
      ["customer", set.customer],
      ["account", set.accounts.main],
    ] as const) {
      for (const args of [{ first: 101 }, { last: 101 }, { first: 1000, offset: 3 }, { first: 101, page: 2 }]) {
        const refused = await historyRequest(api, id, kind, args, { language: "en" });
        expect(refused.errors).toHaveLength(1);
        expect(refused.errors![0]!.extensions?.code).toBe("PAGE_SIZE_OUT_OF_RANGE");
        expect(refused.errors![0]!.message).toMatch(/from 1 to 100/);
      }
    }
    expect((await historyPage(api, set.customer, "customer", { first: 100 })).edges.length).toBe(
      Math.min(100, keys(set.model.history(parent())).length),
    );
    expect((await historyPage(api, set.customer, "customer", { first: 1 })).edges.length).toBe(1);
  });

  it("Stripe limit 1..100: every other list (customers, stores, partners, grants) refuses a page size above 100 with PAGE_SIZE_OUT_OF_RANGE", async () => {
    for (const query of [
      `{ customers(first: 101) { edges { node { id } } } }`,
      `{ stores(first: 101) { edges { node { id } } } }`,
      `{ partners(last: 101) { edges { node { id } } } }`,
      `query ($id: ID!) { node(id: $id) { ... on CreditAccount { grants(first: 101) { edges { node { id } } } } } }`,
    ]) {
      const body = await api.graphql(query, { id: set.accounts.main });
      expect({ query, codes: body.errors?.map((error) => error.extensions?.code) }).toEqual({
        query,
        codes: ["PAGE_SIZE_OUT_OF_RANGE"],
      });
    }
  });
});
