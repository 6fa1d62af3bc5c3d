-- Block hashes, transaction hashes and log data as their bytes instead of `0x` hex text: rows
-- of half the size, which is most of what a backfill costs PostgreSQL (filling new heap pages
-- and their WAL). Readers get the same `0x` text back (src/store/events.ts, `eventSelect`).
-- Each table is rewritten once, its indexes with it; the stored hex was checked at the RPC
-- boundary (even length, hex digits), so `decode` takes every value.
ALTER TABLE "events"
  ALTER COLUMN "block_hash" SET DATA TYPE bytea USING decode(substr("block_hash", 3), 'hex'),
  ALTER COLUMN "tx_hash" SET DATA TYPE bytea USING decode(substr("tx_hash", 3), 'hex'),
  ALTER COLUMN "data" SET DATA TYPE bytea USING decode(substr("data", 3), 'hex');--> statement-breakpoint
ALTER TABLE "orphaned_events"
  ALTER COLUMN "block_hash" SET DATA TYPE bytea USING decode(substr("block_hash", 3), 'hex'),
  ALTER COLUMN "tx_hash" SET DATA TYPE bytea USING decode(substr("tx_hash", 3), 'hex'),
  ALTER COLUMN "data" SET DATA TYPE bytea USING decode(substr("data", 3), 'hex');
