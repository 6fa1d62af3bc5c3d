CREATE INDEX "events_account_key_idx" ON "events" USING btree ("chain_id",(('x' || substr("account", 3, 16))::bit(64)::int8),"block_number","log_index");--> statement-breakpoint
DROP INDEX IF EXISTS "events_account_idx";
