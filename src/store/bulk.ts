import { sql, type SQL } from 'drizzle-orm';

/**
 * A column of a bulk statement: its name and the SQL type its value is read as. `hex` is text
 * that holds only hex strings the RPC boundary has validated (addresses): array parameters carry
 * those without scanning them for characters that need quotes. `bytes` is such hex for a bytea
 * column (hashes, log data).
 */
export type Column = readonly [name: string, type: string];
const sqlType = (type: string) => (type === 'hex' || type === 'bytes' ? 'text' : type);
/** A `bytes` column is bytea, handed over as validated `0x` hex like a `hex` one and decoded by the server. */
const stored = (type: string, value: SQL) => (type === 'bytes' ? sql`decode(substr(${value}, 3), 'hex')` : value);

/**
 * Many rows in one statement: the rows travel as one JSON parameter and are unpacked by
 * `jsonb_to_recordset`, which works the same on PostgreSQL and PGlite and has no parameter-count
 * limit. uint256 values travel as decimal strings.
 */
export function recordset(columns: readonly Column[], records: readonly object[]): SQL {
  const json = toJson(records);
  const spec = columns.map(([name, type]) => `"${name}" ${sqlType(type)}`).join(', ');
  return sql`jsonb_to_recordset(${json}::jsonb) AS r(${sql.raw(spec)})`;
}

export function insertMany(table: string, columns: readonly Column[], records: readonly object[], onConflict = ''): SQL {
  const names = columns.map(([n]) => `"${n}"`).join(', ');
  return sql`INSERT INTO ${sql.raw(`"${table}"`)} (${sql.raw(names)}) SELECT ${sql.raw(names)} FROM ${recordset(columns, records)} ${sql.raw(onConflict)}`;
}

function onConflictUpdate(columns: readonly Column[], key: readonly string[]): string {
  const updates = columns
    .map(([n]) => n)
    .filter((n) => !key.includes(n))
    .map((n) => `"${n}" = excluded."${n}"`)
    .join(', ');
  return `ON CONFLICT (${key.map((k) => `"${k}"`).join(', ')}) DO UPDATE SET ${updates}`;
}

/**
 * JSON with bigints as decimal strings. The hot paths hand over records that hold no bigint, and
 * a replacer function costs ~2 µs a row, so it is only used when the plain encoding refuses.
 */
function toJson(records: readonly object[]): string {
  try {
    return JSON.stringify(records);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(records, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/**
 * A bulk write built ahead of the transaction that runs it: the indexer renders batch N+1's
 * rows while batch N commits, so the transaction itself only ships bytes.
 */
export type BulkWrite = { table: string; sql: SQL };
/**
 * Rows for `COPY … FROM STDIN` (PostgreSQL's writer: `indexer/commit.ts`). The writer keeps one
 * COPY open over many of these: `start` goes once, ahead of the first one's `data`.
 */
export type CopyWrite = { table: string; copy: string; start: Buffer; data: Buffer };

export type Value = string | number | bigint | readonly string[] | null;
type Element = string | number | bigint | null;

/**
 * Append-only rows in one INSERT: each column travels as one array parameter, unpacked by
 * `unnest`. The server parses flat arrays about as fast as COPY text, far faster than JSON, and
 * unlike COPY the statement can be pipelined with the rest of the transaction (one round trip
 * for the whole batch). Works the same on PGlite. A `text[]` column (hex strings only) travels
 * ':'-joined, since unnest would flatten a two-dimensional array; null is NULL. `row` may hand
 * back the same array each time: its values are copied out before the next call.
 */
export function appendRows<T>(table: string, columns: readonly Column[], items: readonly T[], row: (item: T) => readonly Value[]): BulkWrite | undefined {
  return arrayInsert(table, columns, items, row, '');
}

/** The same statement, replacing the row with the same `key` when there is one. */
export function upsertRows<T>(table: string, columns: readonly Column[], key: readonly string[], items: readonly T[], row: (item: T) => readonly Value[]): BulkWrite | undefined {
  return arrayInsert(table, columns, items, row, onConflictUpdate(columns, key));
}

function arrayInsert<T>(table: string, columns: readonly Column[], items: readonly T[], row: (item: T) => readonly Value[], suffix: string): BulkWrite | undefined {
  if (items.length === 0) return undefined;
  const values: Element[][] = columns.map(() => new Array<Element>(items.length));
  for (let i = 0; i < items.length; i++) {
    const r = row(items[i]!);
    for (let c = 0; c < columns.length; c++) {
      const v = r[c]!;
      values[c]![i] = v !== null && typeof v === 'object' ? v.join(':') : v;
    }
  }
  const names = columns.map(([n]) => `"${n}"`).join(', ');
  // A column with one value in every row (the chain id, the contract's address, topics that are
  // all canonical) travels once, as a scalar beside the arrays: neither this process nor the
  // server handles it once per row. At least one column stays an array, which sets the row count.
  const constant = values.map(isConstant);
  if (constant.every(Boolean)) constant[0] = false;
  // unnest in the select list (a ProjectSet, which streams the rows) rather than in FROM (a
  // function scan, which first copies every row into a tuplestore that spills to disk past
  // work_mem): arrays of equal length are walked in step either way.
  const unpacked = sql.join(
    values.map((column, c) => {
      const type = columns[c]![1];
      const element = sql.raw(type === 'text[]' ? 'text' : sqlType(type));
      const value = constant[c] ? (column[0] === null ? sql`NULL::${element}` : sql`${String(column[0])}::${element}`) : sql`unnest(${arrayLiteral(column, type === 'hex' || type === 'bytes')}::${element}[])`;
      return type === 'text[]' ? sql`string_to_array(${value}, ':')` : stored(type, value);
    }),
    sql`, `,
  );
  return { table, sql: sql`INSERT INTO ${sql.raw(`"${table}"`)} (${sql.raw(names)}) SELECT ${unpacked} ${sql.raw(suffix)}` };
}

function isConstant(column: readonly Element[]): boolean {
  const first = column[0];
  for (let i = 1; i < column.length; i++) if (column[i] !== first) return false;
  return true;
}

/** Hex strings and numbers (and their separators): nothing in them needs quotes. */
const hexOrNumbers = /[^0-9a-fx:,-]/;
/** Elements that would not read back as themselves without quotes. */
const needsQuotes = /["{}\\\s]|null|^,|,,|,$|^$/i;

/**
 * A PostgreSQL array literal; elements are quoted only when some need it (hex and numbers never
 * do). A `hex` column without nulls is joined as it is: a hex string has no character an array
 * literal reads specially and is never empty (at least `0x`), so its text is not scanned at all.
 */
function arrayLiteral(column: readonly Element[], hex: boolean): string {
  if (hex && !column.includes(null)) return braced(column);
  // Numbers and bigints print as themselves: no scan of the text (most columns of a batch).
  let numeric = true;
  let nulls = false;
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (v === null) nulls = true;
    else if (typeof v !== 'number' && typeof v !== 'bigint') {
      numeric = false;
      break;
    }
  }
  if (numeric) return braced(nulls ? column.map((v) => v ?? 'NULL') : column);
  if (nulls || column.includes(null)) return braced(column.map((v) => (v === null ? 'NULL' : quoted(v))));
  const plain = column.join(',');
  let commas = 0;
  for (let i = plain.indexOf(','); i !== -1; i = plain.indexOf(',', i + 1)) commas++;
  const noEmpty = plain !== '' && plain[0] !== ',' && plain[plain.length - 1] !== ',' && !plain.includes(',,');
  if (commas === column.length - 1 && noEmpty && (hex || !hexOrNumbers.test(plain) || !needsQuotes.test(plain))) return braced(column);
  return braced(column.map((v) => quoted(v as string | number | bigint)));
}

/**
 * `{a,b,…}` as one flat string. Braces put around the joined text make a rope, which the driver
 * flattens into a copy of the whole parameter before it encodes it (360 MB over a 1M backfill,
 * in a heap profile); joined with the braces on the end elements, the text is built once.
 */
function braced(elements: readonly (Element | string)[]): string {
  if (elements.length === 0) return '{}';
  const parts = elements.slice();
  const last = parts.length - 1;
  parts[0] = `{${parts[0]}`;
  parts[last] = `${parts[last]}}`;
  return parts.join(',');
}

const quoted = (v: string | number | bigint) => `"${String(v).replace(/["\\]/g, (ch) => `\\${ch}`)}"`;

/**
 * Runs bulk writes on one transaction, all at once: the driver pipelines them, so the database
 * works through the batch without waiting on this process between statements (its event loop
 * is busy preparing the next batch). The first failure rejects, and the transaction rolls back.
 */
export async function runBulk(ex: { execute(query: SQL): PromiseLike<unknown> }, writes: readonly (BulkWrite | undefined)[]): Promise<void> {
  await Promise.all(writes.filter((w) => w !== undefined).map((w) => ex.execute(w.sql)));
}
