// Finding customers by part of their external id, name or email: case-insensitive (Czech diacritics
// included, on both engines) and literal (% and _ mean themselves), by comparing against the folded
// `search_text` column the ledger maintains. Prisma's `contains` would do neither: it passes % and _ through
// to LIKE, and SQLite's LIKE folds ASCII only.
import { Prisma } from "../generated/postgres/client.ts";
import type { Customer } from "../generated/postgres/client.ts";
import type { Database } from "../db/client.ts";
import { foldForSearch, isStorableText } from "./validation.ts";

export async function searchCustomers(
  database: Database,
  tenantId: string,
  query: string,
  page: { offset: number; limit: number },
): Promise<Customer[]> {
  // Text that no customer can have (see isStorableText) matches none, without asking the database.
  if (!isStorableText(query)) return [];
  const needle = foldForSearch(query.trim());
  const db = database.read;
  if (needle === "") {
    return db.customer.findMany({ where: { tenantId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.limit });
  }
  const matches =
    database.engine === "postgres"
      ? Prisma.sql`strpos(search_text, ${needle}) > 0`
      : Prisma.sql`instr(search_text, ${needle}) > 0`;
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM customer
    WHERE tenant_id = ${tenantId} AND ${matches}
    ORDER BY created_at, id
    LIMIT ${page.limit} OFFSET ${page.offset}`;
  const customers = await db.customer.findMany({ where: { id: { in: rows.map((row) => row.id) } } });
  const byId = new Map(customers.map((customer) => [customer.id, customer]));
  return rows.map((row) => byId.get(row.id)).filter((customer): customer is Customer => customer !== undefined);
}
