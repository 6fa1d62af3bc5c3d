import { sql, type SQLWrapper } from 'drizzle-orm';
import { bigint, bigserial, customType, index, integer, jsonb, numeric, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Tables. Everything is keyed by chain id so one database can hold many chains.
 * Block numbers and log indexes are 64-bit; uint256 values are numeric(78,0) (exact, never floats).
 *
 * Record tables: cursor, blocks, events, reorgs, orphaned_events.
 * Derived tables (projections, rebuilt from `events` at will): chamas, members (accounts are sums of members).
 * Contributions and payouts have no table of their own: each is one event, and the API reads
 * them from `events` by its chama index (a copy cost a quarter of the backfill's database time).
 */
const uint256 = (name: string) => numeric(name, { precision: 78, scale: 0 });
/**
 * Hex strings (addresses) are compared byte by byte: they are lower-case ASCII, so the
 * order is the same as the database's locale would give, and index maintenance skips strcoll
 * (about 5-10% of a bulk COPY into `events`, measured).
 */
const hex = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });
/**
 * Hashes and log data: their bytes, stored as bytea. Readers get lower-case `0x` hex text back
 * (`eventReadList`, src/store/events.ts). Half the size of the hex: the 1M events of the bench
 * chain fill a 348 MB heap against 513 as text, and in a backfill PostgreSQL's CPU, most of it
 * filling new pages, fell from 6.0-8.4 to 5.0-5.5 µs an event (six interleaved pairs).
 */
const bytes = customType<{ data: string; driverData: string }>({ dataType: () => 'bytea' });
const blockNumber = (name: string) => bigint(name, { mode: 'number' });
/**
 * The leading keys of the secondary indexes of `events`: a 32-bit hash of the account, of the
 * chama id. Queries use these same expressions, and compare the account or the chama id itself
 * as well (a hash may collide). See the indexes below for why hashes lead.
 */
export const accountKey = (account: SQLWrapper) => sql`hashtext(${account})`;
export const chamaIdKey = (chamaId: SQLWrapper) => sql`hash_numeric(${chamaId})`;

/** Where indexing stands, per chain: the last block whose events are all committed. */
export const cursor = pgTable('cursor', {
  chainId: bigint('chain_id', { mode: 'number' }).primaryKey(),
  blockNumber: blockNumber('block_number').notNull(),
  blockHash: text('block_hash').notNull(),
  /** The finalized block as the writer last saw it, for readers that have no RPC (replicas). */
  finalizedBlock: blockNumber('finalized_block').notNull().default(0),
  /** Count of rows in `events` for this chain, kept in step with it so /status needs no count(*). */
  eventsTotal: bigint('events_total', { mode: 'number' }).notNull().default(0),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Hashes of indexed blocks, kept for the unfinalized window (reorg detection and rewind). */
export const blocks = pgTable(
  'blocks',
  {
    chainId: bigint('chain_id', { mode: 'number' }).notNull(),
    number: blockNumber('number').notNull(),
    hash: text('hash').notNull(),
    parentHash: text('parent_hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.number] })],
);

/**
 * The raw log (topics and data, exactly as the node served them) plus the columns the indexes
 * need. Decoded arguments are not stored: they are a pure function of topics and data, and
 * decoding on read (about 1 µs an event) is cheaper than a jsonb column, which cost a fifth of
 * the backfill's COPY time (measured).
 */
const eventColumns = {
  chainId: bigint('chain_id', { mode: 'number' }).notNull(),
  blockNumber: blockNumber('block_number').notNull(),
  blockHash: bytes('block_hash').notNull(),
  logIndex: bigint('log_index', { mode: 'number' }).notNull(),
  txHash: bytes('tx_hash').notNull(),
  txIndex: bigint('tx_index', { mode: 'number' }).notNull(),
  address: hex('address').notNull(),
  event: text('event').notNull(),
  /** topic1 of every Chama event. */
  chamaId: uint256('chama_id').notNull(),
  /** topic2: creator, member, contributor or recipient. */
  account: hex('account').notNull(),
  /** NULL when they are the canonical topics of (event, chama_id, account): every log of a conforming contract. */
  topics: text('topics').array(),
  data: bytes('data').notNull(),
};

/**
 * The append-only record of every canonical Chama event. Rows leave only for `orphaned_events`.
 * The primary key is also what makes a replayed batch fail instead of duplicating: a block number
 * has one canonical hash at a time, so (block hash, log index) needs no index of its own.
 */
export const events = pgTable('events', eventColumns, (t) => [
  primaryKey({ columns: [t.chainId, t.blockNumber, t.logIndex] }),
  /**
   * An account's events, and a chama's (re-folds, time travel, GET /events?chamaId=), in chain
   * order. Each leads with a 32-bit hash, then the chain id: a lookup sets both, so the order
   * after them is the chain's. A backfill builds both in one pass at its end
   * (store/event-indexes.ts), and the sort of that build compares the leading key of nearly every
   * pair of rows: led by the chain id, the same in every row, each comparison went on to the
   * numeric chama id or the account's expression. Over 1M events (one core each, in psql) the
   * account index took 2.1-2.5 s with `chain_id` first and its first 8 bytes as an int8 second,
   * 1.4 s led by `hashtext(account)`; the chama index 2.1-2.4 s with `chain_id, chama_id` first
   * (1.9 s with `chama_id` first: a numeric's abbreviated key is ambiguous among 1,662 ids), 1.1 s
   * led by `hash_numeric(chama_id)`. The chama index serves every contract (the address is
   * filtered on the few rows of one chama id): one index less to maintain than one per
   * (address, chama id). No two entries are equal (they end in the event's position), so
   * deduplication is off: it only cost (migration 0012).
   */
  index('events_account_hash_idx').on(accountKey(t.account), t.chainId, t.blockNumber, t.logIndex).with({ deduplicate_items: 'off' }),
  index('events_chama_hash_idx').on(chamaIdKey(t.chamaId), t.chainId, t.blockNumber, t.logIndex).with({ deduplicate_items: 'off' }),
]);

/**
 * Secondary indexes of `events` dropped for a backfill, to be built again once it catches up
 * (src/store/event-indexes.ts): the definitions as PostgreSQL printed them before the drop.
 */
export const deferredIndexes = pgTable('deferred_indexes', {
  name: text('name').primaryKey(),
  definition: text('definition').notNull(),
  deferredAt: timestamp('deferred_at', { withTimezone: true }).notNull().defaultNow(),
});

/** One row per reorg handled. */
export const reorgs = pgTable(
  'reorgs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    chainId: bigint('chain_id', { mode: 'number' }).notNull(),
    ancestorBlock: blockNumber('ancestor_block').notNull(),
    ancestorHash: text('ancestor_hash').notNull(),
    depth: integer('depth').notNull(),
    oldHash: text('old_hash').notNull(),
    newHash: text('new_hash').notNull(),
    oldTip: blockNumber('old_tip').notNull(),
    orphanedEvents: integer('orphaned_events').notNull(),
    /** 'reorg' (found while indexing) or 'resync' (events an operator's resync replaced). */
    reason: text('reason').notNull().default('reorg'),
    detectedAt: timestamp('detected_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('reorgs_chain_idx').on(t.chainId, t.id)],
);

/** Every event a reorg took off the canonical chain, kept with the reorg that orphaned it. */
export const orphanedEvents = pgTable(
  'orphaned_events',
  { reorgId: bigint('reorg_id', { mode: 'number' }).notNull(), ...eventColumns },
  (t) => [primaryKey({ columns: [t.reorgId, t.blockHash, t.logIndex] })],
);

/**
 * chamas and members are rewritten by every batch that touches a row: migration 0006
 * gives them fillfactor 70 (drizzle-kit does not model it), so updates stay on their page.
 */
export const chamas = pgTable(
  'chamas',
  {
    chainId: bigint('chain_id', { mode: 'number' }).notNull(),
    address: hex('address').notNull(),
    chamaId: uint256('chama_id').notNull(),
    /** Null when the chama was created before the indexed range (START_BLOCK). */
    creator: hex('creator'),
    name: text('name'),
    contributionAmount: uint256('contribution_amount'),
    maxMembers: uint256('max_members'),
    memberCount: bigint('member_count', { mode: 'number' }).notNull(),
    currentRound: uint256('current_round').notNull(),
    totalContributed: uint256('total_contributed').notNull(),
    totalPaidOut: uint256('total_paid_out').notNull(),
    createdAtBlock: blockNumber('created_at_block'),
    updatedAtBlock: blockNumber('updated_at_block').notNull(),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.address, t.chamaId] }), index('chamas_creator_idx').on(t.chainId, t.creator)],
);

export const members = pgTable(
  'members',
  {
    chainId: bigint('chain_id', { mode: 'number' }).notNull(),
    address: hex('address').notNull(),
    chamaId: uint256('chama_id').notNull(),
    member: hex('member').notNull(),
    position: bigint('position', { mode: 'number' }).notNull(),
    joinedAtBlock: blockNumber('joined_at_block').notNull(),
    totalContributed: uint256('total_contributed').notNull(),
    totalReceived: uint256('total_received').notNull(),
    contributions: bigint('contributions', { mode: 'number' }).notNull(),
    updatedAtBlock: blockNumber('updated_at_block').notNull(),
    /**
     * MemberJoined events of this member in this chama. An account (GET /accounts/:address) is
     * the sum of its member rows, read through `members_member_idx`: a table of its own was a
     * third row rewritten per event on the backfill path.
     */
    joins: bigint('joins', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.chainId, t.address, t.chamaId, t.member] }), index('members_member_idx').on(t.chainId, t.member)],
);

/** What `verify` found: a projection (or the events under it) disagreeing with the chain. */
export const mismatches = pgTable(
  'mismatches',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    chainId: bigint('chain_id', { mode: 'number' }).notNull(),
    kind: text('kind').notNull(),
    /** CRITICAL for money, NORMAL for counts, rounds and positions. */
    priority: text('priority').notNull(),
    entity: text('entity').notNull(),
    dbValue: text('db_value'),
    chainValue: text('chain_value'),
    blockNumber: blockNumber('block_number').notNull(),
    foundAt: timestamp('found_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set when a later verification of the same entity no longer finds it. */
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [index('mismatches_open_idx').on(t.chainId, t.resolvedAt, t.id)],
);

/** Long operator jobs (rebuild, resync, verify), durable so a restart knows what died. */
export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    chainId: bigint('chain_id', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    status: text('status').notNull(),
    params: jsonb('params').notNull(),
    progress: integer('progress').notNull().default(0),
    message: text('message'),
    result: jsonb('result'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('jobs_status_idx').on(t.status, t.createdAt)],
);
