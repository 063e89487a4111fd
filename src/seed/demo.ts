// Demo data for a first `npm start`: on an empty database, one tenant with stores, a partner, customers and a
// few months of credit history, all written through the ledger's own operations (so it is real ledger data,
// verified like any other). A database that already has a tenant is left alone.
import type { Database } from "../db/client.ts";
import { createApiKey } from "../auth/api-keys.ts";
import { createLedger, type LedgerResult } from "../ledger/index.ts";

export const demoTenantName = "Demo Coffee Roasters";

const day = 24 * 60 * 60 * 1000;

/**
 * Creates the demo tenant with its data and a development API key (read and write) on an empty database.
 * The key's secret is returned once, as every key's is.
 */
export async function ensureDemoData(
  database: Database,
): Promise<{ created: boolean; tenantName: string; apiKey?: string }> {
  if ((await database.read.tenant.count()) > 0) return { created: false, tenantName: demoTenantName };
  const ledger = createLedger(database);
  const now = Date.now();
  const daysAgo = (days: number) => new Date(now - days * day);

  const tenant = must(
    await ledger.createTenant({ name: demoTenantName, timeZone: "Europe/Prague", defaultLocale: "cs" }),
  ).tenant;
  const t = tenant.id;
  const oldTown = must(await ledger.createStore(t, { name: "Old Town café", externalId: "store-prague-1" })).store;
  const brno = must(await ledger.createStore(t, { name: "Brno roastery shop", externalId: "store-brno-1" })).store;
  const airline = must(
    await ledger.createPartner(t, { name: "Sky Miles partner programme", externalId: "partner-sky" }),
  ).partner;

  const jana = must(
    await ledger.createCustomer(t, { externalId: "CUST-1001", name: "Jana Nováková", email: "jana@example.com" }),
  ).customer;
  const petr = must(
    await ledger.createCustomer(t, { externalId: "CUST-1002", name: "Petr Svoboda", email: "petr@example.com" }),
  ).customer;
  const alex = must(await ledger.createCustomer(t, { externalId: "CUST-1003", name: "Alex Morgan" })).customer;

  const janaPoints = must(
    await ledger.openAccount(t, { customerId: jana.id, name: "Loyalty points", currency: "PTS" }),
  ).account;
  const janaCredit = must(
    await ledger.openAccount(t, { customerId: jana.id, name: "Store credit", currency: "CZK" }),
  ).account;
  const petrPoints = must(
    await ledger.openAccount(t, { customerId: petr.id, name: "Loyalty points", currency: "PTS" }),
  ).account;
  const alexPrepaid = must(
    await ledger.openAccount(t, { customerId: alex.id, name: "Prepaid card", currency: "EUR", overdraftLimit: 500n }),
  ).account;

  const purchases: [number, bigint, string, string][] = [
    [90, 120n, oldTown.id, "Espresso beans 1 kg"],
    [75, 45n, brno.id, "Flat white and croissant"],
    [60, 300n, oldTown.id, "Barista course"],
    [41, 80n, brno.id, "Gift box"],
    [12, 64n, oldTown.id, "Cold brew subscription"],
  ];
  for (const [ago, points, storeId, note] of purchases) {
    must(
      await ledger.deposit(t, {
        accountId: janaPoints.id,
        amount: points,
        storeId,
        note: `Points for purchase: ${note}`,
        externalReference: `receipt:${storeId.slice(-6)}-${ago}`,
        effectiveAt: daysAgo(ago),
        grant: { name: "Purchase points", expiresAt: new Date(now + 365 * day) },
      }),
    );
  }
  must(
    await ledger.deposit(t, {
      accountId: janaPoints.id,
      amount: 200n,
      partnerId: airline.id,
      note: "Welcome bonus from Sky Miles",
      effectiveAt: daysAgo(30),
      grant: {
        name: "Partner welcome bonus",
        category: "PROMOTIONAL",
        priority: 10,
        expiresAt: new Date(now + 60 * day),
      },
    }),
  );
  must(
    await ledger.reduce(t, {
      accountId: janaPoints.id,
      amount: 250n,
      storeId: oldTown.id,
      note: "Redeemed: free bag of beans",
      effectiveAt: daysAgo(20),
    }),
  );
  must(
    await ledger.transfer(t, {
      sourceAccountId: janaPoints.id,
      targetAccountId: petrPoints.id,
      amount: 100n,
      note: "Gift to Petr",
      initiator: { type: "USER", id: "jana@example.com" },
      effectiveAt: daysAgo(10),
    }),
  );

  must(
    await ledger.deposit(t, {
      accountId: janaCredit.id,
      amount: 49900n,
      storeId: brno.id,
      note: "Refund as store credit (100% quality guarantee)",
      externalReference: "invoice:INV-2026-0042/line:1",
      effectiveAt: daysAgo(25),
    }),
  );
  const spend = must(
    await ledger.reduce(t, {
      accountId: janaCredit.id,
      amount: 12900n,
      storeId: oldTown.id,
      note: "Paid for 'Brazil Santos' 500 g",
      effectiveAt: daysAgo(5),
    }),
  );
  must(await ledger.reverse(t, { actionId: spend.action.id, note: "Order cancelled", effectiveAt: daysAgo(4) }));

  // An online order placed today and not yet shipped: its store credit is held (in the balance, not available)
  // until the order ships (captureHold) or is cancelled (releaseHold), or for a week at most.
  must(
    await ledger.authorize(t, {
      accountId: janaCredit.id,
      amount: 8900n,
      expiresAt: new Date(now + 7 * day),
      note: "Online order: 'Ethiopia Yirgacheffe' 250 g, awaiting shipment",
      externalReference: "order:WEB-1042",
    }),
  );

  must(
    await ledger.deposit(t, {
      accountId: petrPoints.id,
      amount: 50n,
      storeId: brno.id,
      note: "Points for purchase",
      effectiveAt: daysAgo(3),
    }),
  );
  must(
    await ledger.deposit(t, { accountId: alexPrepaid.id, amount: 2000n, note: "Card top-up", effectiveAt: daysAgo(8) }),
  );
  must(
    await ledger.reduce(t, {
      accountId: alexPrepaid.id,
      amount: 2350n,
      storeId: oldTown.id,
      note: "Team breakfast (uses the overdraft)",
      effectiveAt: daysAgo(1),
    }),
  );

  const problems = await ledger.verify({ tenantId: t });
  if (problems.length > 0) throw new Error(`Demo data does not verify: ${JSON.stringify(problems)}`);
  const { secret } = await createApiKey(database, { tenantId: t, name: "Development key", scopes: ["read", "write"] });
  return { created: true, tenantName: demoTenantName, apiKey: secret };
}

function must<T>(result: LedgerResult<T>): { ok: true } & T {
  if (!result.ok) throw new Error(`Demo data could not be written: ${result.error.code} ${result.error.message}`);
  return result;
}
