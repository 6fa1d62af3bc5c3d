-- The secondary indexes of `events` lead with a 32-bit hash of the account or chama id
-- (schema/index.ts says why). A writer stopped mid-backfill may have deferred the old ones
-- (store/event-indexes.ts): their records go, and the new ones are built here over what it stored.
DELETE FROM "deferred_indexes" WHERE "name" IN ('events_account_key_idx', 'events_chama_id_idx');--> statement-breakpoint
DROP INDEX IF EXISTS "events_account_key_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "events_chama_id_idx";--> statement-breakpoint
CREATE INDEX "events_account_hash_idx" ON "events" USING btree (hashtext("account"),"chain_id","block_number","log_index");--> statement-breakpoint
CREATE INDEX "events_chama_hash_idx" ON "events" USING btree (hash_numeric("chama_id"),"chain_id","block_number","log_index");
