// Building blocks of the write path's SQL: multi-row INSERTs of rows shaped like the Prisma models, and
// per-row values in one UPDATE. Every value is a bound parameter; only table and column names, which come
// from this code, are spliced.
import { join, raw, type Sql, sql, type SqlRunner } from "../../db/sql.ts";

/**
 * Rows per INSERT. Far below both engines' limits on bound parameters (SQLite 32,766, PostgreSQL 65,535)
 * for the widest row (an action, 22 columns); a write that makes more rows than this (expirations settled on
 * an account with thousands of lapsed grants) sends several statements.
 */
const rowsPerStatement = 500;

/** The column a model field is stored in: the datamodel maps every camelCase field to its snake_case name. */
export function columnOf(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** `INSERT INTO table (columns) VALUES (...), (...)` for rows that all have the same fields. */
export function insertStatement(table: string, rows: readonly object[]): Sql {
  const first = rows[0];
  if (first === undefined) throw new Error("Bug: an INSERT without rows.");
  const fields = Object.keys(first);
  const values = rows.map((row) => {
    const record = row as Record<string, unknown>;
    return sql`(${join(fields.map((field) => record[field] ?? null))})`;
  });
  return sql`INSERT INTO ${raw(table)} (${raw(fields.map(columnOf).join(", "))}) VALUES ${join(values)}`;
}

/**
 * The INSERTs as data-modifying common table expressions, `WITH w0 AS (INSERT ...), w1 AS (...)`, to put
 * before one more statement so that they all travel in its round trip (PostgreSQL only; SQLite has no
 * INSERT in a WITH clause). Every part of such a statement sees the same snapshot, so the statement after
 * them does not see the rows they insert in their tables (it may read what a part RETURNS); foreign keys are
 * checked at the end of the statement, so rows may point to each other. Null when there is nothing to insert
 * or a table has more rows than one INSERT takes.
 */
export function insertsAsCommonTableExpressions(
  inserts: readonly {
    table: string;
    rows: readonly object[];
    /** The part's name and the columns it returns, for the statement after it to read the inserted rows. */
    returning?: { name: string; columns: readonly string[] };
  }[],
): Sql | null {
  const nonEmpty = inserts.filter((insert) => insert.rows.length > 0);
  if (nonEmpty.length === 0 || nonEmpty.some((insert) => insert.rows.length > rowsPerStatement)) return null;
  const parts = nonEmpty.map((insert, index) => {
    const returning = insert.returning ? raw(` RETURNING ${insert.returning.columns.join(", ")}`) : raw("");
    return sql`${raw(insert.returning?.name ?? `w${index}`)} AS (${insertStatement(insert.table, insert.rows)}${returning})`;
  });
  return sql`WITH ${join(parts, ", ")} `;
}

/**
 * `statement` with `name AS (part)` first in its WITH clause, which it gains if it had none: a data-modifying
 * part (PostgreSQL only) travels in the statement's round trip, under the rules given above.
 */
export function withLeadingCommonTableExpression(name: string, part: Sql, statement: Sql): Sql {
  const [head = "", ...rest] = statement.strings;
  const withClause = /^\s*WITH(\s+RECURSIVE)?\s+/i.exec(head);
  const tail = sql([withClause ? head.slice(withClause[0].length) : head, ...rest], ...statement.values);
  const keyword = withClause?.[1] ? "WITH RECURSIVE" : "WITH";
  return sql`${raw(keyword)} ${raw(name)} AS (${part})${raw(withClause ? ", " : " ")}${tail}`;
}

/** Inserts the rows (none is fine), as few statements as the size bound allows. */
export async function insertRows(tx: SqlRunner, table: string, rows: readonly object[]): Promise<void> {
  for (let start = 0; start < rows.length; start += rowsPerStatement) {
    await tx.execute(insertStatement(table, rows.slice(start, start + rowsPerStatement)));
  }
}

/**
 * `CASE id WHEN ? THEN ? ... END`: a value per row, for an UPDATE of several rows in one statement. The
 * values are cast to the column's type, since PostgreSQL gives a CASE of bare parameters the type text.
 */
export function valueById(values: ReadonlyMap<string, bigint | number>, type: "BIGINT" | "INTEGER"): Sql {
  const cases = [...values].map(([id, value]) => sql`WHEN ${id} THEN CAST(${value} AS ${raw(type)})`);
  return sql`CASE id ${join(cases, " ")} END`;
}
