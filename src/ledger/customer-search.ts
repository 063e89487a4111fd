// Finding customers by part of their external id, name or email: case-insensitive (Czech diacritics
// included, on both engines) and literal (% and _ mean themselves), by comparing against the folded
// `search_text` column the ledger maintains. Prisma's `contains` would do neither: it passes % and _ through
// to LIKE, and SQLite's LIKE folds ASCII only.
import type { Database } from "../db/client.ts";
import { empty, sql } from "../db/sql.ts";
import type { Customer } from "../generated/postgres/client.ts";
import { foldForSearch, isStorableText } from "./validation.ts";

/** One page of the tenant's customers, oldest first, in one statement; `query` narrows them (empty: all). */
export async function searchCustomers(
  database: Database,
  tenantId: string,
  query: string,
  page: { offset: number; limit: number },
): Promise<Customer[]> {
  // Text that no customer can have (see isStorableText) matches none, without asking the database.
  if (!isStorableText(query)) return [];
  const needle = foldForSearch(query.trim());
  const position =
    database.engine === "postgres" ? sql`strpos(search_text, ${needle})` : sql`instr(search_text, ${needle})`;
  return database.reader.query<Customer>(sql`
    SELECT * FROM customer
    WHERE tenant_id = ${tenantId}${needle === "" ? empty : sql` AND ${position} > 0`}
    ORDER BY created_at, id
    LIMIT ${page.limit} OFFSET ${page.offset}`);
}
