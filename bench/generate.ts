// Generates the benchmark ledger: a deterministic (seeded) credit history written straight into the gateway's
// own tables, as tab-separated COPY files, and loads those files into a migrated PostgreSQL database.
//
// The rows are exactly what the ledger's write path (src/ledger/write-session.ts) would have written for the
// same operations, so the gateway's `verify` finds the ledger clean: entries numbered 1..n per account with
// chained balances, account balance and entry count, grants spent in the ledger's order (priority, expiry with
// nulls last, effective time, id) with one allocation per grant touched, transfers mirroring the spent grants
// into the target, the action's type/time/store/partner/initiator copied onto its entries, folded notes and
// customer search text, UUIDv7 ids. Expiries lie years ahead, so nothing lapses while the benchmark runs.
//
// Usage (also called by run.ts): node --import tsx generate.ts --actions 100000 [--seed 1] [--out DIR]
// The files are cached under bench/.cache/<generator version>-<actions>-<seed>/ and reused by later runs.
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Bump when the generated data changes, so that stale caches are not reused. */
export const generatorVersion = "g1";

export const benchDirectory = path.dirname(fileURLToPath(import.meta.url));

/** What run.ts needs to know about a generated ledger. */
export interface LedgerMeta {
  generatorVersion: string;
  actions: number;
  seed: number;
  tenantId: string;
  apiKey: string;
  apiKeyId: string;
  customers: number;
  accounts: number;
  entries: number;
  grants: number;
  /** Accounts given a large balance for the hot-account transfer workload (all in one currency). */
  hotAccountIds: string[];
}

/** Column lists of the COPY files, in the order the rows are written. Loaded in this (foreign-key) order. */
export const tables: Record<string, string[]> = {
  tenant: ["id", "name", "time_zone", "default_locale", "created_at", "updated_at"],
  api_key: ["id", "tenant_id", "name", "prefix", "secret_hash", "scopes", "created_at"],
  store: ["id", "tenant_id", "external_id", "name", "created_at", "updated_at"],
  partner: ["id", "tenant_id", "external_id", "name", "created_at", "updated_at"],
  customer: ["id", "tenant_id", "external_id", "name", "email", "search_text", "created_at", "updated_at"],
  credit_account: [
    "id",
    "tenant_id",
    "customer_id",
    "name",
    "currency",
    "balance",
    "overdraft_limit",
    "status",
    "entry_count",
    "created_at",
    "updated_at",
  ],
  credit_action: [
    "id",
    "tenant_id",
    "type",
    "amount",
    "currency",
    "source_account_id",
    "target_account_id",
    "store_id",
    "partner_id",
    "initiator_id",
    "initiator_type",
    "api_key_id",
    "note",
    "note_search",
    "external_reference",
    "effective_at",
    "created_at",
    "updated_at",
  ],
  credit_grant: [
    "id",
    "tenant_id",
    "account_id",
    "name",
    "category",
    "priority",
    "original_amount",
    "remaining_amount",
    "effective_at",
    "expires_at",
    "external_reference",
    "created_by_action_id",
    "created_at",
    "updated_at",
  ],
  credit_allocation: ["action_id", "grant_id", "direction", "amount"],
  credit_entry: [
    "id",
    "tenant_id",
    "action_id",
    "account_id",
    "customer_id",
    "sequence",
    "direction",
    "amount",
    "balance_before",
    "balance_after",
    "type",
    "currency",
    "store_id",
    "partner_id",
    "initiator_type",
    "effective_at",
    "created_at",
  ],
};

// ---------------------------------------------------------------------------------------------------------
// Deterministic randomness and ids

/** sfc32: small, fast, good enough, and the same sequence on every machine for one seed. */
export function prng(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed,
    b = 0x243f6a88,
    c = 0xb7e15162 ^ (seed * 7919),
    d = 1;
  const next = () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 20; i++) next();
  return next;
}

function hex(random: () => number, digits: number): string {
  let out = "";
  while (out.length < digits)
    out += Math.floor(random() * 0x10000)
      .toString(16)
      .padStart(4, "0");
  return out.slice(0, digits);
}

/** A UUIDv7 string for the given millisecond, its random bits from the generator. */
function uuid7(random: () => number, ms: number): string {
  const t = ms.toString(16).padStart(12, "0");
  const variant = (8 + Math.floor(random() * 4)).toString(16);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${hex(random, 3)}-${variant}${hex(random, 3)}-${hex(random, 12)}`;
}

const fold = (text: string) => text.normalize("NFKC").toLocaleLowerCase("und");
const timestamp = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

// ---------------------------------------------------------------------------------------------------------
// COPY files

class CopyWriter {
  private readonly fd: number;
  private buffer: string[] = [];
  private size = 0;
  rows = 0;
  constructor(file: string) {
    this.fd = openSync(file, "w");
  }
  row(values: (string | number | bigint | null)[]): void {
    const line = `${values.map((value) => (value === null ? "\\N" : escapeCopy(String(value)))).join("\t")}\n`;
    this.buffer.push(line);
    this.size += line.length;
    this.rows++;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buffer.length > 0) writeSync(this.fd, this.buffer.join(""));
    this.buffer = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function escapeCopy(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
    : text;
}

// ---------------------------------------------------------------------------------------------------------
// The ledger simulation

interface Grant {
  id: string;
  name: string | null;
  category: "PAID" | "PROMOTIONAL";
  priority: number;
  expiresAt: number | null;
  effectiveAt: number;
  externalReference: string | null;
  remaining: bigint;
}

interface Account {
  id: string;
  customerId: string;
  name: string;
  currency: string;
  createdAt: number;
  balance: bigint;
  entryCount: number;
  /** Grants that still hold credits, kept in the ledger's spending order. */
  grants: Grant[];
}

const day = 86_400_000;
const historyStart = Date.UTC(2025, 5, 1);
const historyEnd = Date.UTC(2026, 9, 31);
const farExpiry = Date.UTC(2031, 0, 1);
const currencies = ["PTS", "PTS", "USD", "EUR", "CZK"];
const storeNames = [
  "Old Town café",
  "Brno roastery shop",
  "Airport kiosk",
  "Online shop",
  "Ostrava bistro",
  "Plzeň corner",
  "Liberec market stall",
  "Station espresso bar",
];
const partnerNames = ["Sky Miles partner programme", "City bike share", "Book club", "Cinema chain"];
const firstNames = [
  "Jana",
  "Petr",
  "Alex",
  "Eva",
  "Tomáš",
  "Lucie",
  "Jan",
  "Marie",
  "Ondřej",
  "Zuzana",
  "Karel",
  "Anna",
];
const lastNames = [
  "Nováková",
  "Svoboda",
  "Morgan",
  "Dvořák",
  "Černá",
  "Procházka",
  "Kučera",
  "Veselá",
  "Horák",
  "Němcová",
];
const depositNotes = [
  "Top-up",
  "Birthday bonus",
  "Welcome credits",
  "Refund for order",
  "Loyalty points for purchase",
  "Café visit Ünïcødé",
];
const reductionNotes = ["Redeemed at checkout", "Purchase", "Spent on coffee beans", "Partial payment"];

function compareGrants(a: Grant, b: Grant): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.expiresAt !== b.expiresAt) {
    if (a.expiresAt === null) return 1;
    if (b.expiresAt === null) return -1;
    return a.expiresAt - b.expiresAt;
  }
  if (a.effectiveAt !== b.effectiveAt) return a.effectiveAt - b.effectiveAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function cacheDirectory(actions: number, seed: number): string {
  return path.join(benchDirectory, ".cache", `${generatorVersion}-${actions}-${seed}`);
}

/** Writes the COPY files of a ledger of `actions` actions into `directory` (replacing it) and returns its meta. */
export function generateLedger(actions: number, seed: number, directory: string): LedgerMeta {
  const random = prng(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const partial = `${directory}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const out = Object.fromEntries(
    Object.keys(tables).map((table) => [table, new CopyWriter(path.join(partial, `${table}.tsv`))]),
  );
  const w = (table: string) => out[table] as CopyWriter;

  const setupAt = Date.UTC(2025, 0, 1);
  const tenantId = uuid7(random, setupAt);
  w("tenant").row([tenantId, "Bench Coffee Roasters", "UTC", "en", timestamp(setupAt), timestamp(setupAt)]);
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const alphabet64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const prefix = `clk_${Array.from({ length: 8 }, () => pick([...alphabet])).join("")}`;
  const apiKey = `${prefix}_${Array.from({ length: 43 }, () => pick([...alphabet64])).join("")}`;
  const apiKeyId = uuid7(random, setupAt + 1);
  w("api_key").row([
    apiKeyId,
    tenantId,
    "bench",
    prefix,
    createHash("sha256").update(apiKey).digest("hex"),
    "read write",
    timestamp(setupAt + 1),
  ]);

  const storeIds = storeNames.map((name, index) => {
    const id = uuid7(random, setupAt + 10 + index);
    w("store").row([
      id,
      tenantId,
      `store-${index + 1}`,
      name,
      timestamp(setupAt + 10 + index),
      timestamp(setupAt + 10 + index),
    ]);
    return id;
  });
  const partnerIds = partnerNames.map((name, index) => {
    const id = uuid7(random, setupAt + 100 + index);
    w("partner").row([
      id,
      tenantId,
      `partner-${index + 1}`,
      name,
      timestamp(setupAt + 100 + index),
      timestamp(setupAt + 100 + index),
    ]);
    return id;
  });

  // Customers and their accounts, created one minute apart before the history starts.
  const customerCount = Math.max(20, Math.round(actions / 50));
  const accounts: Account[] = [];
  const byCurrency = new Map<string, Account[]>();
  for (let c = 0; c < customerCount; c++) {
    const createdAt = Date.UTC(2025, 1, 1) + c * 60_000;
    const id = uuid7(random, createdAt);
    const externalId = `CUST-${String(c + 1).padStart(6, "0")}`;
    const name = `${pick(firstNames)} ${pick(lastNames)}`;
    const email = random() < 0.7 ? `customer${c + 1}@example.com` : null;
    const searchText = fold([externalId, name, email ?? ""].join("\n"));
    w("customer").row([id, tenantId, externalId, name, email, searchText, timestamp(createdAt), timestamp(createdAt)]);
    const count = int(2, 4);
    // The first eight customers' first account is in PTS: the hot accounts.
    const own =
      c < 8
        ? ["PTS", ...Array.from({ length: count - 1 }, () => pick(currencies))]
        : Array.from({ length: count }, () => pick(currencies));
    own.forEach((currency, k) => {
      const at = createdAt + (k + 1) * 1000;
      const account: Account = {
        id: uuid7(random, at),
        customerId: id,
        name: `${currency} credits ${k + 1}`,
        currency,
        createdAt: at,
        balance: 0n,
        entryCount: 0,
        grants: [],
      };
      accounts.push(account);
      const list = byCurrency.get(currency) ?? [];
      list.push(account);
      byCurrency.set(currency, list);
    });
  }
  const hot = accounts.filter((account) => account.currency === "PTS").slice(0, 8);

  let entryCount = 0;
  let grantCount = 0;
  const action = (
    at: number,
    type: "DEPOSIT" | "REDUCTION" | "TRANSFER",
    amount: bigint,
    currency: string,
    source: Account | null,
    target: Account | null,
    note: string | null,
  ) => {
    const id = uuid7(random, at);
    const storeId = random() < 0.7 ? pick(storeIds) : null;
    const partnerId = random() < 0.2 ? pick(partnerIds) : null;
    const roll = random();
    const initiatorType = roll < 0.6 ? "API_KEY" : roll < 0.9 ? "USER" : "SYSTEM";
    const initiatorId =
      initiatorType === "API_KEY" ? apiKeyId : initiatorType === "USER" ? `clerk-${int(1, 40)}` : null;
    const keyId = initiatorType === "SYSTEM" ? null : apiKeyId;
    const reference = random() < 0.2 ? `invoice:in_${int(1, 999_999)}` : null;
    w("credit_action").row([
      id,
      tenantId,
      type,
      amount,
      currency,
      source?.id ?? null,
      target?.id ?? null,
      storeId,
      partnerId,
      initiatorId,
      initiatorType,
      keyId,
      note,
      note === null ? null : fold(note),
      reference,
      timestamp(at),
      timestamp(at),
      timestamp(at),
    ]);
    return { id, at, type, amount, currency, storeId, partnerId, initiatorType };
  };
  type Action = ReturnType<typeof action>;
  const entry = (act: Action, account: Account, direction: "CREDIT" | "DEBIT") => {
    const before = account.balance;
    account.balance = direction === "CREDIT" ? before + act.amount : before - act.amount;
    account.entryCount++;
    entryCount++;
    w("credit_entry").row([
      uuid7(random, act.at),
      tenantId,
      act.id,
      account.id,
      account.customerId,
      account.entryCount,
      direction,
      act.amount,
      before,
      account.balance,
      act.type,
      act.currency,
      act.storeId,
      act.partnerId,
      act.initiatorType,
      timestamp(act.at),
      timestamp(act.at),
    ]);
  };
  const newGrant = (
    act: Action,
    account: Account,
    amount: bigint,
    spec: Omit<Grant, "id" | "effectiveAt" | "remaining">,
  ) => {
    const grant: Grant = { ...spec, id: uuid7(random, act.at), effectiveAt: act.at, remaining: amount };
    grantCount++;
    w("credit_grant").row([
      grant.id,
      tenantId,
      account.id,
      grant.name,
      grant.category,
      grant.priority,
      amount,
      amount,
      timestamp(act.at),
      grant.expiresAt === null ? null : timestamp(grant.expiresAt),
      grant.externalReference,
      act.id,
      timestamp(act.at),
      timestamp(act.at),
    ]);
    w("credit_allocation").row([act.id, grant.id, "CREDIT", amount]);
    account.grants.push(grant);
    account.grants.sort(compareGrants);
  };
  /** Spends the account's grants in the ledger's order; returns what each gave. */
  const spend = (act: Action, account: Account, amount: bigint) => {
    const taken: { grant: Grant; part: bigint }[] = [];
    let left = amount;
    for (const grant of account.grants) {
      if (left === 0n) break;
      // Amounts are bigints: Math.min does not take them.
      // biome-ignore lint/complexity/useMathMinMax: bigint operands
      const part = grant.remaining < left ? grant.remaining : left;
      grant.remaining -= part;
      left -= part;
      taken.push({ grant, part });
      w("credit_allocation").row([act.id, grant.id, "DEBIT", part]);
    }
    if (left !== 0n) throw new Error(`generator bug: grants of ${account.id} do not cover ${amount}`);
    account.grants = account.grants.filter((grant) => grant.remaining > 0n);
    return taken;
  };
  // Grants written at update time would need their final remaining amount, so grants are written once, at
  // creation, with remaining = original, and corrected at load time from the allocations (see loadLedger).

  const deposit = (at: number, account: Account, amount: bigint) => {
    const promotional = random() < 0.3;
    const act = action(
      at,
      "DEPOSIT",
      amount,
      account.currency,
      null,
      account,
      random() < 0.5 ? pick(depositNotes) : null,
    );
    newGrant(act, account, amount, {
      name: promotional ? pick(["Birthday", "Welcome bonus", "Summer promo"]) : random() < 0.3 ? "Top-up" : null,
      category: promotional ? "PROMOTIONAL" : "PAID",
      priority: pick([10, 20, 50, 50, 80]),
      expiresAt: random() < 0.4 ? null : farExpiry + int(0, 1000) * day,
      externalReference: null,
    });
    entry(act, account, "CREDIT");
  };

  // The hot accounts start with a large deposit each, so that transfers among them never run dry.
  hot.forEach((account, index) => deposit(historyStart + index, account, 1_000_000_000n));
  const generated = actions - hot.length;
  const step = (historyEnd - historyStart) / Math.max(1, generated);
  for (let j = 0; j < generated; j++) {
    const at = Math.floor(historyStart + 100 + j * step + random() * step * 0.5);
    const account = pick(accounts);
    const roll = random();
    if (roll < 0.45 || account.balance < 10n) {
      deposit(at, account, BigInt(int(100, 20_000)));
    } else if (roll < 0.7) {
      const amount = BigInt(int(1, Number(account.balance < 5_000n ? account.balance : 5_000n)));
      const act = action(
        at,
        "REDUCTION",
        amount,
        account.currency,
        account,
        null,
        random() < 0.5 ? pick(reductionNotes) : null,
      );
      spend(act, account, amount);
      entry(act, account, "DEBIT");
    } else {
      const peers = byCurrency.get(account.currency) as Account[];
      let target = pick(peers);
      if (target === account) target = peers[(peers.indexOf(account) + 1) % peers.length] as Account;
      const amount = BigInt(int(1, Number(account.balance < 3_000n ? account.balance : 3_000n)));
      const act = action(
        at,
        "TRANSFER",
        amount,
        account.currency,
        account,
        target,
        random() < 0.3 ? "Shared with family" : null,
      );
      const taken = spend(act, account, amount);
      // One new grant per kind of grant spent, as the ledger's mirrorLots does.
      const lots = new Map<string, { grant: Grant; amount: bigint }>();
      for (const { grant, part } of taken) {
        const key = JSON.stringify([
          grant.name,
          grant.category,
          grant.priority,
          grant.expiresAt,
          grant.externalReference,
        ]);
        const lot = lots.get(key);
        if (lot) lot.amount += part;
        else lots.set(key, { grant, amount: part });
      }
      for (const { grant, amount: part } of lots.values()) {
        newGrant(act, target, part, {
          name: grant.name,
          category: grant.category,
          priority: grant.priority,
          expiresAt: grant.expiresAt,
          externalReference: grant.externalReference,
        });
      }
      entry(act, account, "DEBIT");
      entry(act, target, "CREDIT");
    }
  }

  for (const account of accounts) {
    w("credit_account").row([
      account.id,
      tenantId,
      account.customerId,
      account.name,
      account.currency,
      account.balance,
      0,
      "OPEN",
      account.entryCount,
      timestamp(account.createdAt),
      timestamp(account.createdAt),
    ]);
  }
  for (const writer of Object.values(out)) writer.close();
  const meta: LedgerMeta = {
    generatorVersion,
    actions,
    seed,
    tenantId,
    apiKey,
    apiKeyId,
    customers: customerCount,
    accounts: accounts.length,
    entries: entryCount,
    grants: grantCount,
    hotAccountIds: hot.map((account) => account.id),
  };
  writeFileSync(path.join(partial, "meta.json"), JSON.stringify(meta, null, 2));
  rmSync(directory, { recursive: true, force: true });
  renameSync(partial, directory);
  return meta;
}

/** The cached ledger of this size and seed, generated first when there is none. */
export function cachedLedger(
  actions: number,
  seed: number,
  log: (line: string) => void,
): { directory: string; meta: LedgerMeta } {
  const directory = cacheDirectory(actions, seed);
  const metaFile = path.join(directory, "meta.json");
  if (existsSync(metaFile)) {
    log(`ledger: reusing the generated files in bench/.cache/${path.basename(directory)}`);
    return { directory, meta: JSON.parse(readFileSync(metaFile, "utf8")) as LedgerMeta };
  }
  const started = Date.now();
  log(`ledger: generating ${actions} actions (seed ${seed})...`);
  const meta = generateLedger(actions, seed, directory);
  log(
    `ledger: generated ${meta.customers} customers, ${meta.accounts} accounts, ${meta.entries} entries, ${meta.grants} grants in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return { directory, meta };
}

/**
 * Loads the COPY files into a database the gateway's migrations created: drops the secondary indexes of the
 * big tables, copies every table in foreign-key order, sets each grant's remaining amount from its
 * allocations, recreates the indexes and analyzes. `psql` runs a script given on stdin.
 */
export async function loadLedger(directory: string, psql: (script: string) => Promise<void>): Promise<void> {
  const big = ["credit_action", "credit_grant", "credit_allocation", "credit_entry"];
  const lines: string[] = ["\\set ON_ERROR_STOP on", "BEGIN;"];
  lines.push(
    "CREATE TEMP TABLE bench_indexes AS SELECT indexname, indexdef FROM pg_indexes " +
      `WHERE schemaname = 'public' AND tablename IN (${big.map((t) => `'${t}'`).join(", ")}) AND indexname NOT LIKE '%\\_pkey';`,
    "DO $$ DECLARE r record; BEGIN FOR r IN SELECT indexname FROM bench_indexes LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP; END $$;",
  );
  for (const [table, columns] of Object.entries(tables)) {
    lines.push(`\\copy ${table} (${columns.join(", ")}) from '${path.join(directory, `${table}.tsv`)}'`);
  }
  lines.push(
    "UPDATE credit_grant g SET remaining_amount = f.net FROM (SELECT grant_id, sum(CASE WHEN direction = 'CREDIT' THEN amount ELSE -amount END) AS net " +
      "FROM credit_allocation GROUP BY grant_id) f WHERE f.grant_id = g.id AND g.remaining_amount <> f.net;",
    // Each account's next lapse, as the ledger maintains it: the earliest expiry among its grants that still
    // hold credits.
    "UPDATE credit_account a SET next_lapse_at = f.next FROM (SELECT account_id, min(expires_at) AS next FROM credit_grant " +
      "WHERE remaining_amount > 0 GROUP BY account_id) f WHERE f.account_id = a.id;",
    "DO $$ DECLARE r record; BEGIN FOR r IN SELECT indexdef FROM bench_indexes LOOP EXECUTE r.indexdef; END LOOP; END $$;",
    "COMMIT;",
    "VACUUM ANALYZE;",
  );
  await psql(`${lines.join("\n")}\n`);
}

// ---------------------------------------------------------------------------------------------------------

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (flag: string, fallback: string) => {
    const index = args.indexOf(flag);
    return index >= 0 && args[index + 1] ? (args[index + 1] as string) : fallback;
  };
  const actions = Number(value("--actions", "100000"));
  const seed = Number(value("--seed", "1"));
  const outDirectory = args.includes("--out") ? path.resolve(value("--out", "")) : cacheDirectory(actions, seed);
  const started = Date.now();
  const meta = generateLedger(actions, seed, outDirectory);
  console.log(
    `${JSON.stringify({ ...meta, apiKey: undefined })}\nwritten to ${outDirectory} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
