// Parity of credit histories with the APIs the gateway replaces (CareCloud and Thought Industries): every
// way those APIs let a client reach, filter, order and page a history, checked through the gateway against
// expectations the test computes itself from the actions it wrote (see history-model.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, createApiFixture } from "../support/api.ts";
import {
  buildDataset,
  type Dataset,
  fold,
  historyKeys,
  historyPage,
  historyRequest,
  keyOf,
  keys,
  type ModelEntry,
  orderFields,
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

const customerParent = () => ({ kind: "customer" as const, id: set.customer });

/** The names a client may search a type by, written out here rather than taken from the gateway. */
const typeNames: Record<string, string[]> = {
  DEPOSIT: ["Deposit", "Vklad"],
  REDUCTION: ["Reduction", "Odečtení", "Čerpání"],
  TRANSFER: ["Transfer", "Převod"],
  EXPIRATION: ["Expiration", "Expirace"],
  VOID: ["Void", "Zneplatnění"],
  REVERSAL: ["Reversal", "Storno"],
};

/** Lower case without accents, as the type-name filter compares. */
const plain = (text: string) => text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();

describe("CareCloud", () => {
  it("CareCloud history through a customer or one of its accounts: every entry of its accounts and no one else's", async () => {
    const customerHistory = await historyPage(api, set.customer, "customer", { first: 100 });
    const expected = set.model.history(customerParent());
    // A transfer between two of the customer's accounts is listed once under each of them.
    expect(expected.filter((entry) => entry.action.type === "TRANSFER")).toHaveLength(6);
    expect(customerHistory.edges.map(keyOf)).toEqual(keys(expected));
    expect(customerHistory.totalCount).toBe(expected.length);

    for (const accountId of [set.accounts.main, set.accounts.bonus, set.accounts.wallet, set.accounts.otherPoints]) {
      const accountKeys = await historyKeys(api, accountId, "account", { first: 100 });
      expect(accountKeys).toEqual(keys(set.model.history({ kind: "account", id: accountId })));
    }
    const otherKeys = await historyKeys(api, set.other, "customer", { first: 100 });
    expect(otherKeys).toEqual(
      [set.steps.otherSpend!.id, set.steps.otherStart!.id].map((id) => `${id}/${set.accounts.otherPoints}`),
    );
  });

  it("CareCloud record: type, amount, timestamp, store, partner and note on every entry, with the account's balances", async () => {
    const page = await historyPage(api, set.customer, "customer", { first: 100 }, { language: "en" });
    const byKey = new Map(set.model.entries().map((entry) => [entry.key, entry]));
    for (const edge of page.edges) {
      const entry = byKey.get(keyOf(edge))!;
      const action = entry.action;
      expect(edge.node.type).toBe(action.type);
      expect(edge.node.typeName).toBe(typeNames[action.type]![0]);
      expect(edge.node.amount).toBe(action.amount.toString());
      expect(edge.amount).toBe(entry.amount.toString());
      expect(edge.direction).toBe(entry.direction);
      expect(edge.directionName).toBe(entry.direction === "CREDIT" ? "Credit" : "Debit");
      expect(edge.balanceBefore).toBe(entry.balanceBefore.toString());
      expect(edge.balanceAfter).toBe(entry.balanceAfter.toString());
      expect(Date.parse(edge.node.effectiveAt)).toBe(action.effectiveAt.getTime());
      expect(Date.parse(edge.node.createdAt)).toBe(action.createdAt.getTime());
      expect(edge.node.store?.id ?? null).toBe(action.storeId);
      expect(edge.node.partner?.id ?? null).toBe(action.partnerId);
      expect(edge.node.note).toBe(action.note);
      expect(edge.node.currency).toBe(action.currency);
    }
    const receipt = page.edges.find((edge) => edge.node.id === set.steps.receipt!.id)!;
    expect(receipt.node.store).toEqual({ id: set.stores.mustek, name: "Praha – Můstek" });
    expect(receipt.node.note).toBe("Nákup – účtenka #42");
  });

  it("CareCloud count: page size defaults to 20, at most 100; above that PAGE_SIZE_OUT_OF_RANGE", async () => {
    const expected = keys(set.model.history(customerParent()));
    expect(expected.length).toBeGreaterThan(20);
    const firstPage = await historyPage(api, set.customer, "customer");
    expect(firstPage.edges.map(keyOf)).toEqual(expected.slice(0, 20));
    expect(firstPage.pageInfo.hasNextPage).toBe(true);
    expect(firstPage.pageInfo.hasPreviousPage).toBe(false);

    const all = await historyPage(api, set.customer, "customer", { first: 100 });
    expect(all.edges.map(keyOf)).toEqual(expected);
    expect(all.pageInfo.hasNextPage).toBe(false);

    for (const args of [{ first: 101 }, { last: 101 }, { first: 0 }, { first: -1 }]) {
      const refused = await historyRequest(api, set.customer, "customer", args);
      expect(refused.errors).toHaveLength(1);
      expect(refused.errors![0]!.extensions?.code).toBe("PAGE_SIZE_OUT_OF_RANGE");
      expect(refused.errors![0]!.message).toMatch(/1 to 100/);
      expect(refused.data?.node ?? null).toBeNull();
    }
  });

  it("CareCloud offset: jumps to an arbitrary offset", async () => {
    const expected = keys(set.model.history(customerParent()));
    for (const [offset, first] of [
      [0, 5],
      [7, 5],
      [13, 100],
      [expected.length - 1, 3],
    ] as const) {
      const page = await historyPage(api, set.customer, "customer", { offset, first });
      expect(page.edges.map(keyOf)).toEqual(expected.slice(offset, offset + first));
      expect(page.pageInfo.hasPreviousPage).toBe(offset > 0);
      expect(page.pageInfo.hasNextPage).toBe(offset + first < expected.length);
    }
    const beyond = await historyPage(api, set.customer, "customer", { offset: expected.length + 5, first: 5 });
    expect(beyond.edges).toEqual([]);
    expect(beyond.pageInfo.hasNextPage).toBe(false);

    // Offset and a cursor name two different starting points.
    const negative = await historyRequest(api, set.customer, "customer", { offset: -1 });
    expect(negative.errors?.[0]?.extensions?.code).toBe("OFFSET_OUT_OF_RANGE");
    const cursor = (await historyPage(api, set.customer, "customer", { first: 2 })).pageInfo.endCursor;
    const mixed = await historyRequest(api, set.customer, "customer", { offset: 2, after: cursor });
    expect(mixed.errors?.[0]?.extensions?.code).toBe("INVALID_PAGINATION");
  });

  it("CareCloud sort_field and sort_direction: every first-level field both ways, ties broken stably", async () => {
    for (const field of orderFields) {
      for (const direction of ["ASC", "DESC"] as const) {
        const expected = keys(set.model.history(customerParent(), { order: { field, direction } }));
        const listed = await historyKeys(api, set.customer, "customer", { first: 100, orderBy: { field, direction } });
        expect({ field, direction, listed }).toEqual({ field, direction, listed: expected });
      }
    }
    // Ties (many entries share a type or direction) stay in one order across pages: pages of 4 put together
    // are exactly the whole list.
    for (const field of ["TYPE", "DIRECTION", "CURRENCY", "EFFECTIVE_AT", "STORE_NAME", "PARTNER_NAME"] as const) {
      const expected = keys(set.model.history(customerParent(), { order: { field, direction: "ASC" } }));
      const walked: string[] = [];
      let after: string | null = null;
      do {
        const page = await historyPage(api, set.customer, "customer", {
          first: 4,
          after,
          orderBy: { field, direction: "ASC" },
        });
        walked.push(...page.edges.map(keyOf));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect(walked).toEqual(expected);
    }
  });

  it("CareCloud store_id and partner_id: only actions at those stores or through those partners", async () => {
    const cases: { filter: Record<string, unknown>; where: (entry: ModelEntry) => boolean }[] = [
      { filter: { stores: [set.stores.mustek] }, where: (e) => e.action.storeId === set.stores.mustek },
      { filter: { stores: [set.stores.mustek, set.stores.brno] }, where: (e) => e.action.storeId !== null },
      { filter: { partners: [set.partners.beta] }, where: (e) => e.action.partnerId === set.partners.beta },
      {
        filter: { stores: [set.stores.brno], partners: [set.partners.beta] },
        where: (e) => e.action.storeId === set.stores.brno && e.action.partnerId === set.partners.beta,
      },
      { filter: { stores: [] }, where: () => false },
    ];
    for (const { filter, where } of cases) {
      const expected = set.model.history(customerParent(), { where });
      const page = await historyPage(api, set.customer, "customer", { first: 100, filter });
      expect(page.edges.map(keyOf)).toEqual(keys(expected));
      expect(page.totalCount).toBe(expected.length);
    }
    expect(
      set.model.history(customerParent(), { where: (e) => e.action.storeId === set.stores.mustek }).length,
    ).toBeGreaterThan(3);

    // An ID of another type is refused rather than silently matching nothing.
    const wrongType = await historyRequest(api, set.customer, "customer", { filter: { stores: [set.partners.alfa] } });
    expect(wrongType.errors?.[0]?.extensions?.code).toBe("INVALID_ID");
  });

  it("CareCloud time_from/time_to: accepts YYYY-MM-DD HH:MM:SS and ISO-8601, offset-less in the tenant's zone", async () => {
    const between = (from: string, to: string) => (entry: ModelEntry) =>
      entry.action.effectiveAt.getTime() >= Date.parse(from) && entry.action.effectiveAt.getTime() < Date.parse(to);
    // 12:00 in Prague in February is 11:00 UTC: the three actions at that instant are included (from is
    // inclusive), the deposit at midnight of 20 February is not (to is exclusive).
    const expected = keys(
      set.model.history(customerParent(), { where: between("2026-02-14T11:00:00Z", "2026-02-19T23:00:00Z") }),
    );
    expect(expected).toHaveLength(3);
    for (const filter of [
      { effectiveFrom: "2026-02-14 12:00:00", effectiveTo: "2026-02-20 00:00:00" },
      { effectiveFrom: "2026-02-14T12:00:00", effectiveTo: "2026-02-20" },
      { effectiveFrom: "2026-02-14T11:00:00Z", effectiveTo: "2026-02-20T00:00:00+01:00" },
      { effectiveFrom: "2026-02-14T12:00:00.000+01:00", effectiveTo: "2026-02-19T23:00:00.000Z" },
    ]) {
      const page = await historyPage(api, set.customer, "customer", { first: 100, filter });
      expect({ filter, listed: page.edges.map(keyOf) }).toEqual({ filter, listed: expected });
    }
    // One second later the boundary deposit is in.
    const inclusive = await historyKeys(api, set.customer, "customer", {
      first: 100,
      filter: { effectiveFrom: "2026-02-14 12:00:00", effectiveTo: "2026-02-20 00:00:01" },
    });
    expect(inclusive).toEqual(
      keys(set.model.history(customerParent(), { where: between("2026-02-14T11:00:00Z", "2026-02-19T23:00:01Z") })),
    );
    expect(inclusive).toHaveLength(4);

    // In July, Prague is two hours ahead of UTC: 09:00 local is 07:00 UTC.
    const summer = await historyKeys(api, set.customer, "customer", {
      first: 100,
      filter: { effectiveFrom: "2025-07-01 09:00:00", effectiveTo: "2025-07-01 09:00:01" },
    });
    expect(summer).toEqual([`${set.steps.summer!.id}/${set.accounts.main}`]);

    // Recording time has the same two bounds.
    const created = await historyKeys(api, set.customer, "customer", {
      first: 100,
      filter: { createdFrom: "2026-03-01 11:05:00", createdTo: "2026-03-01T10:10:00Z" },
    });
    expect(created).toEqual(
      keys(
        set.model.history(customerParent(), {
          where: (e) =>
            e.action.createdAt.getTime() >= Date.parse("2026-03-01T10:05:00Z") &&
            e.action.createdAt.getTime() < Date.parse("2026-03-01T10:10:00Z"),
        }),
      ),
    );

    for (const bad of ["2026-02-30 10:00:00", "14.2.2026", "2026-02-14 25:00:00"]) {
      const refused = await historyRequest(api, set.customer, "customer", { filter: { effectiveFrom: bad } });
      expect(refused.errors?.[0]?.extensions?.code).toBe("INVALID_DATE_TIME");
    }
  });

  it("CareCloud credit_operation_type: part of the localized type name, in any supported language", async () => {
    for (const [text, language] of [
      ["vklad", "cs"],
      ["VKLAD", "en"],
      ["dep", "en"],
      ["ČERPÁNÍ", "cs"],
      ["cerpani", "en"],
      ["odečt", "cs"],
      ["prev", "cs"],
      ["trans", "cs"],
      ["storno", "en"],
      ["re", "en"],
      ["xyz", "en"],
    ] as const) {
      const matching = Object.entries(typeNames)
        .filter(([, names]) => names.some((name) => plain(name).includes(plain(text))))
        .map(([type]) => type);
      const expected = keys(set.model.history(customerParent(), { where: (e) => matching.includes(e.action.type) }));
      const listed = await historyPage(
        api,
        set.customer,
        "customer",
        { first: 100, filter: { typeName: text } },
        { language },
      );
      expect({ text, listed: listed.edges.map(keyOf) }).toEqual({ text, listed: expected });
    }
    const czech = await historyPage(
      api,
      set.customer,
      "customer",
      { first: 3, filter: { typeName: "vklad" } },
      { language: "cs" },
    );
    expect(czech.edges.map((edge) => edge.node.typeName)).toEqual(["Vklad", "Vklad", "Vklad"]);
  });

  it("CareCloud credit_operation_note: case-insensitive part of the note, safe against %, _ and quotes", async () => {
    for (const text of [
      "%",
      "_",
      "'",
      "%_'",
      "100%",
      "100 %",
      "50_50",
      "o'brien",
      "ŽLUŤOUČKÝ KŮŇ",
      "žluťoučký kůň",
      "Kůň",
      "ÚČTENKA #42",
      "café",
      "' OR '1'='1",
      "\\",
      "bonus",
    ]) {
      const expected = keys(
        set.model.history(customerParent(), {
          where: (e) => e.action.note !== null && fold(e.action.note).includes(fold(text)),
        }),
      );
      const listed = await historyKeys(api, set.customer, "customer", { first: 100, filter: { note: text } });
      expect({ text, listed }).toEqual({ text, listed: expected });
    }
    // The cases above did find something where they should: "%" matches the notes with a percent sign only.
    expect(await historyKeys(api, set.customer, "customer", { first: 100, filter: { note: "%" } })).toHaveLength(4);
    expect(
      await historyKeys(api, set.customer, "customer", { first: 100, filter: { note: "žluťoučký kůň" } }),
    ).toHaveLength(2);
  });

  it("CareCloud Accept-Language: ISO 639-1 with q-values (default cs, en-gb;q=0.8) for type names and error messages", async () => {
    const ask = (language: string | undefined) =>
      api.graphql(
        `query ($id: ID!) { node(id: $id) { ... on CreditAccount { history(first: 1, orderBy: { field: ID, direction: ASC }) { edges { directionName node { typeName } } } } } }`,
        { id: set.accounts.main },
        language === undefined ? {} : { language },
      );
    const cases: [string | undefined, "cs" | "en"][] = [
      ["cs, en-gb;q=0.8", "cs"],
      ["en-GB, cs;q=0.8", "en"],
      ["cs;q=0.4, en;q=0.9", "en"],
      ["en;q=0, cs", "cs"],
      ["de-DE, cs;q=0.3, en;q=0.2", "cs"],
      ["CS-cz", "cs"],
      ["de, fr;q=0.5", "en"],
      [undefined, "en"],
    ];
    for (const [header, language] of cases) {
      const body = await ask(header);
      const edge = body.data.node.history.edges[0];
      expect({ header, typeName: edge.node.typeName, directionName: edge.directionName }).toEqual({
        header,
        typeName: language === "cs" ? "Vklad" : "Deposit",
        directionName: language === "cs" ? "Připsání" : "Credit",
      });

      // User errors of mutations follow the same negotiation.
      const refused = await api.graphql(
        `mutation ($input: ReduceInput!) { reduce(input: $input) { userErrors { code message } } }`,
        { input: { accountId: set.accounts.main, amount: "99999999" } },
        header === undefined ? {} : { language: header },
      );
      expect(refused.data.reduce.userErrors).toEqual([
        {
          code: "INSUFFICIENT_CREDITS",
          message:
            language === "cs"
              ? expect.stringMatching(/^Na účtu je k dispozici \d+ PTS; požadováno bylo 99999999\.$/)
              : expect.stringMatching(/^The account has \d+ PTS available; 99999999 were requested\.$/),
        },
      ]);

      // Top-level errors about a query's arguments too.
      const tooMany = await historyRequest(
        api,
        set.customer,
        "customer",
        { first: 500 },
        header === undefined ? {} : { language: header },
      );
      expect(tooMany.errors?.[0]?.extensions?.code).toBe("PAGE_SIZE_OUT_OF_RANGE");
      expect(tooMany.errors?.[0]?.message).toMatch(
        language === "cs" ? /musí být celé číslo od 1 do 100/ : /must be a whole number from 1 to 100/,
      );
    }
  });

  it("CareCloud Accept-Language: a request without a valid key is refused (UNAUTHENTICATED) in the negotiated language", async () => {
    for (const [language, message] of [
      ["cs, en-gb;q=0.8", /^K tomu je potřeba platný API klíč/],
      ["en-gb, cs;q=0.8", /^This needs a valid API key/],
    ] as const) {
      const body = await api.graphql(`{ customer(externalId: "cc-1001") { id } }`, {}, { key: null, language });
      expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect({ language, message: body.errors?.[0]?.message }).toEqual({
        language,
        message: expect.stringMatching(message),
      });
    }
  });

  it("CareCloud balances per customer and per account, and deposit and reduce mutations returning them", async () => {
    const body = await api.data(
      `query ($id: ID!) { customer(id: $id) { accounts { id name currency balance available } balances { currency balance available accountCount } } }`,
      { id: set.customer },
    );
    const balance = (id: string) => set.model.balances.get(id)!;
    expect(body.customer.accounts).toEqual([
      {
        id: set.accounts.main,
        name: "Hlavní body",
        currency: "PTS",
        balance: balance(set.accounts.main).toString(),
        available: balance(set.accounts.main).toString(),
      },
      {
        id: set.accounts.bonus,
        name: "Bonusové body",
        currency: "PTS",
        balance: balance(set.accounts.bonus).toString(),
        available: balance(set.accounts.bonus).toString(),
      },
      {
        id: set.accounts.wallet,
        name: "Peněženka",
        currency: "CZK",
        balance: balance(set.accounts.wallet).toString(),
        available: balance(set.accounts.wallet).toString(),
      },
    ]);
    const points = balance(set.accounts.main) + balance(set.accounts.bonus);
    expect(body.customer.balances).toEqual([
      { currency: "CZK", balance: "18500", available: "18500", accountCount: 1 },
      { currency: "PTS", balance: points.toString(), available: points.toString(), accountCount: 2 },
    ]);
    // By external id, as CareCloud's customer_id addresses a customer.
    const byExternalId = await api.data(`{ customer(externalId: "cc-1001") { id } }`);
    expect(byExternalId.customer.id).toBe(set.customer);
  });
});

describe("Thought Industries", () => {
  it("Thought Industries: several credit accounts per customer, history per account and per customer, with creditAccountName", async () => {
    const body = await api.data(`query ($id: ID!) { node(id: $id) { ... on Customer { accounts { id name } } } }`, {
      id: set.customer,
    });
    expect(body.node.accounts).toEqual([
      { id: set.accounts.main, name: "Hlavní body" },
      { id: set.accounts.bonus, name: "Bonusové body" },
      { id: set.accounts.wallet, name: "Peněženka" },
    ]);
    const page = await historyPage(api, set.customer, "customer", { first: 100 });
    const names = new Map([
      [set.accounts.main, "Hlavní body"],
      [set.accounts.bonus, "Bonusové body"],
      [set.accounts.wallet, "Peněženka"],
    ]);
    for (const edge of page.edges) expect(edge.account.name).toBe(names.get(edge.account.id));
    const gift = page.edges.filter((edge) => edge.node.id === set.steps.gift!.id);
    expect(gift.map((edge) => [edge.account.name, edge.direction])).toEqual(
      expect.arrayContaining([
        ["Hlavní body", "DEBIT"],
        ["Bonusové body", "CREDIT"],
      ]),
    );
    expect(gift[0]!.node.sourceAccount).toEqual({ id: set.accounts.main, name: "Hlavní body" });
    expect(gift[0]!.node.targetAccount).toEqual({ id: set.accounts.bonus, name: "Bonusové body" });
  });

  it("Thought Industries actionType: the debit/credit filter is the direction relative to the account", async () => {
    for (const direction of ["CREDIT", "DEBIT"] as const) {
      for (const parent of [
        customerParent(),
        { kind: "account" as const, id: set.accounts.main },
        { kind: "account" as const, id: set.accounts.bonus },
      ]) {
        const expected = keys(set.model.history(parent, { where: (e) => e.direction === direction }));
        const page = await historyPage(api, parent.id, parent.kind, { first: 100, filter: { direction } });
        expect(page.edges.map(keyOf)).toEqual(expected);
        expect(page.edges.every((edge) => edge.direction === direction)).toBe(true);
      }
    }
    // A transfer from main to bonus is a debit of main and a credit of bonus.
    const mainDebits = await historyKeys(api, set.accounts.main, "account", {
      first: 100,
      filter: { direction: "DEBIT", types: ["TRANSFER"] },
    });
    expect(mainDebits).toEqual(
      [set.steps.gift!, set.steps.toBonus!].map((action) => `${action.id}/${set.accounts.main}`),
    );
  });

  it("Thought Industries page: page-number access", async () => {
    const expected = keys(set.model.history(customerParent()));
    for (const [page, first] of [
      [1, 6],
      [2, 6],
      [5, 6],
      [3, 10],
      [2, 100],
    ] as const) {
      const listed = await historyPage(api, set.customer, "customer", { page, first });
      expect(listed.edges.map(keyOf)).toEqual(expected.slice((page - 1) * first, page * first));
      expect(listed.pageInfo.hasNextPage).toBe(page * first < expected.length);
      expect(listed.pageInfo.hasPreviousPage).toBe(page > 1);
      expect(listed.totalCount).toBe(expected.length);
    }
    // Without first, a page has the default 20 entries.
    expect((await historyPage(api, set.customer, "customer", { page: 2 })).edges.map(keyOf)).toEqual(
      expected.slice(20, 40),
    );
    for (const args of [{ page: 0 }, { page: -2 }, { page: 2, offset: 3 }, { page: 2, last: 3 }]) {
      const refused = await historyRequest(api, set.customer, "customer", args);
      expect(refused.errors?.[0]?.extensions?.code).toBe("INVALID_PAGINATION");
    }
  });

  it("Thought Industries entry: action, amount, timestamp and updatedAt, source/target with balances in and out", async () => {
    const page = await historyPage(api, set.customer, "customer", { first: 100 });
    const byId = new Map(set.model.actions.map((action) => [action.id, action]));
    for (const edge of page.edges) {
      const action = byId.get(edge.node.id)!;
      expect(Date.parse(edge.node.updatedAt)).toBe(action.updatedAt.getTime());
      const source = action.entries.find((entry) => entry.direction === "DEBIT") ?? null;
      const target = action.entries.find((entry) => entry.direction === "CREDIT") ?? null;
      expect(edge.node.sourceAccount?.id ?? null).toBe(source?.accountId ?? null);
      expect(edge.node.targetAccount?.id ?? null).toBe(target?.accountId ?? null);
      expect(edge.node.sourceBalanceBefore).toBe(source ? source.balanceBefore.toString() : null);
      expect(edge.node.sourceBalanceAfter).toBe(source ? source.balanceAfter.toString() : null);
      expect(edge.node.targetBalanceBefore).toBe(target ? target.balanceBefore.toString() : null);
      expect(edge.node.targetBalanceAfter).toBe(target ? target.balanceAfter.toString() : null);
    }
    // The reversed reduction changed when it was reversed: updatedAt later than createdAt.
    const fine = page.edges.find((edge) => edge.node.id === set.steps.fine!.id)!;
    expect(Date.parse(fine.node.updatedAt)).toBe(set.steps.storno!.createdAt.getTime());
    expect(Date.parse(fine.node.updatedAt)).toBeGreaterThan(Date.parse(fine.node.createdAt));
  });

  it("Thought Industries initiator and initiatorType: from the authenticated API key, or given explicitly", async () => {
    const page = await historyPage(api, set.customer, "customer", { first: 100 });
    const byId = new Map(set.model.actions.map((action) => [action.id, action]));
    for (const edge of page.edges) {
      const action = byId.get(edge.node.id)!;
      expect(edge.node.initiator).toEqual({ type: action.initiatorType, id: action.initiatorId });
    }
    expect(page.edges.find((edge) => edge.node.id === set.steps.welcome!.id)!.node.initiator).toEqual({
      type: "API_KEY",
      id: api.apiKeyId,
    });
    expect(page.edges.find((edge) => edge.node.id === set.steps.coffee!.id)!.node.initiator).toEqual({
      type: "USER",
      id: "barista-1",
    });
    expect(page.edges.find((edge) => edge.node.id === set.steps.toBonus!.id)!.node.initiator).toEqual({
      type: "SYSTEM",
      id: null,
    });
    for (const initiatorTypes of [["USER"], ["SYSTEM", "USER"], ["API_KEY"]]) {
      const listed = await historyKeys(api, set.customer, "customer", { first: 100, filter: { initiatorTypes } });
      expect(listed).toEqual(
        keys(set.model.history(customerParent(), { where: (e) => initiatorTypes.includes(e.action.initiatorType) })),
      );
    }
  });

  it("Thought Industries pageInfo (perPage, cursor, total, hasMore): Relay pageInfo with totalCount", async () => {
    const filter = { types: ["DEPOSIT", "REDUCTION"] };
    const expected = keys(
      set.model.history(customerParent(), {
        where: (e) => e.action.type === "DEPOSIT" || e.action.type === "REDUCTION",
      }),
    );
    const first = await historyPage(api, set.customer, "customer", { first: 7, filter });
    expect(first.totalCount).toBe(expected.length);
    expect(first.edges.map(keyOf)).toEqual(expected.slice(0, 7));
    expect(first.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: first.edges[0]!.cursor,
      endCursor: first.edges[6]!.cursor,
    });
    const second = await historyPage(api, set.customer, "customer", {
      first: 100,
      after: first.pageInfo.endCursor,
      filter,
    });
    expect(second.edges.map(keyOf)).toEqual(expected.slice(7));
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect(second.pageInfo.hasPreviousPage).toBe(true);
    expect(second.totalCount).toBe(expected.length);
  });

  it("Thought Industries Bearer API key (X-Api-Key as well); no key or an unknown key is UNAUTHENTICATED", async () => {
    const query = `query ($id: ID!) { node(id: $id) { id } }`;
    expect((await api.data(query, { id: set.customer })).node.id).toBe(set.customer);
    expect((await api.data(query, { id: set.customer }, { keyHeader: "x-api-key" })).node.id).toBe(set.customer);
    const unknownKey = `clk_abcdefgh_${"A".repeat(43)}`;
    for (const key of [null, unknownKey, "not-a-key"]) {
      for (const request of [
        { query, variables: { id: set.customer } },
        { query: `{ customer(externalId: "cc-1001") { id } }`, variables: {} },
        {
          query: `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code } } }`,
          variables: { input: { accountId: set.accounts.main, amount: "1" } },
        },
      ]) {
        const body = await api.graphql(request.query, request.variables, { key });
        expect(body.errors?.map((error) => error.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
        expect(JSON.stringify(body.data ?? null)).not.toContain(set.customer);
      }
    }
    // Nothing was written by the refused deposits.
    expect(await historyKeys(api, set.accounts.main, "account", { first: 100 })).toEqual(
      keys(set.model.history({ kind: "account", id: set.accounts.main })),
    );
  });
});
