-- The secondary indexes of `events` end in (chain_id, block_number, log_index): no two of their
-- entries are equal, so B-tree deduplication only costs. Off, the account index builds in
-- 0.88-0.90 s over 1M events instead of 1.00-1.09 (one core, `_bt_keep_natts_fast` was a fifth
-- of the build), and an insert into a full leaf page splits it without a vain pass first.
-- Entries made so far are plain ones either way: the setting applies from now on, no rebuild.
-- A writer stopped mid-backfill may have deferred them (store/event-indexes.ts): then their
-- records are what gets the setting, as PostgreSQL prints an index made with it.
ALTER INDEX IF EXISTS "events_account_hash_idx" SET (deduplicate_items = off);--> statement-breakpoint
ALTER INDEX IF EXISTS "events_chama_hash_idx" SET (deduplicate_items = off);--> statement-breakpoint
UPDATE "deferred_indexes" SET "definition" = "definition" || ' WITH (deduplicate_items=off)'
  WHERE "name" IN ('events_account_hash_idx', 'events_chama_hash_idx') AND "definition" NOT LIKE '%deduplicate_items%';
