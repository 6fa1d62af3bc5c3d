import { sql } from 'drizzle-orm';
import { rows, type Executor } from './db.ts';

/**
 * Replacing whole tables inside one transaction: build an empty copy beside each table (no
 * index, so bulk inserts only append), fill it, then give it the indexes, constraints and grants
 * of the table it replaces, read from the catalog (so it follows every migration), and swap it
 * in under the table's name. Readers see the old table, untouched, until the transaction commits;
 * the swap itself takes the tables' exclusive locks only for its last few statements. A crash or
 * rollback at any point leaves the old tables as they were, and nothing behind.
 */

export const freshName = (table: string) => `${table}__fresh`;
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The first statement of a snapshot that reads tables a swap may replace. A snapshot taken
 * before a swap commits, reading the tables after, finds the new tables without their rows (they
 * were written by a transaction it does not see): empty. LOCK takes no snapshot; it waits out a
 * swap in progress, and a swap waits for the reads holding it.
 */
export const lockAgainstSwap = (tables: readonly string[]) => sql.raw(`LOCK TABLE ${tables.map(quote).join(', ')} IN ACCESS SHARE MODE`);

/** Empty copies of `tables` (same columns, defaults, checks and storage options such as fillfactor), holding the rows of other chains. */
export async function createFreshTables(tx: Executor, tables: readonly string[], chainId: number): Promise<void> {
  for (const table of tables) {
    const fresh = sql.raw(quote(freshName(table)));
    await tx.execute(sql`DROP TABLE IF EXISTS ${fresh}`);
    await tx.execute(sql`CREATE TABLE ${fresh} (LIKE ${sql.raw(quote(table))} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    const [stored] = await rows<{ options: string[] | null }>(tx, sql`SELECT reloptions AS options FROM pg_class WHERE oid = ${table}::regclass`);
    // Catalog text such as `fillfactor=70`: names and values PostgreSQL itself has checked.
    if (stored?.options?.length) await tx.execute(sql`ALTER TABLE ${fresh} SET (${sql.raw(stored.options.join(', '))})`);
    await tx.execute(sql`INSERT INTO ${fresh} SELECT * FROM ${sql.raw(quote(table))} WHERE chain_id <> ${chainId}`);
  }
}

type Definitions = { table: string; constraints: { name: string; def: string }[]; indexes: { name: string; def: string }[]; grants: { grantee: string; privilege: string }[] };

async function definitions(tx: Executor, table: string): Promise<Definitions> {
  const [constraints, indexes, grants] = await Promise.all([
    rows<{ name: string; def: string }>(tx, sql`SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = ${table}::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname`),
    rows<{ name: string; def: string }>(
      tx,
      sql`SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = ${table}::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname`,
    ),
    rows<{ grantee: string; privilege: string }>(
      tx,
      sql`SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege
          FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = ${table}::regclass AND a.grantee <> c.relowner ORDER BY 1, 2`,
    ),
  ]);
  return { table, constraints, indexes, grants };
}

/**
 * Gives each fresh table the indexes and constraints of its namesake, then drops the old tables
 * and renames the fresh ones (and their indexes and constraints) to the old names.
 */
export async function swapInFreshTables(tx: Executor, tables: readonly string[]): Promise<void> {
  const all: Definitions[] = [];
  for (const table of tables) all.push(await definitions(tx, table));
  // The slow part (sorting every row into each index) first, while readers still use the old tables.
  for (const { table, constraints, indexes } of all) {
    const fresh = freshName(table);
    for (const [i, c] of constraints.entries()) await tx.execute(sql.raw(`ALTER TABLE ${quote(fresh)} ADD CONSTRAINT ${quote(`${fresh}_c${i}`)} ${c.def}`));
    for (const [i, x] of indexes.entries()) {
      const def = x.def.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ /, (_m, unique: string | undefined) => `CREATE ${unique ?? ''}INDEX ${quote(`${fresh}_i${i}`)} ON ${quote(fresh)} `);
      if (def === x.def) throw new Error(`cannot rewrite the definition of index ${x.name} on ${table}: ${x.def}`);
      await tx.execute(sql.raw(def));
    }
  }
  for (const { table, constraints, indexes, grants } of all) {
    const fresh = freshName(table);
    await tx.execute(sql.raw(`DROP TABLE ${quote(table)}`));
    await tx.execute(sql.raw(`ALTER TABLE ${quote(fresh)} RENAME TO ${quote(table)}`));
    for (const [i, c] of constraints.entries()) await tx.execute(sql.raw(`ALTER TABLE ${quote(table)} RENAME CONSTRAINT ${quote(`${fresh}_c${i}`)} TO ${quote(c.name)}`));
    for (const [i, x] of indexes.entries()) await tx.execute(sql.raw(`ALTER INDEX ${quote(`${fresh}_i${i}`)} RENAME TO ${quote(x.name)}`));
    for (const g of grants) await tx.execute(sql.raw(`GRANT ${g.privilege} ON ${quote(table)} TO ${g.grantee === 'PUBLIC' ? 'PUBLIC' : quote(g.grantee)}`));
  }
}
