ALTER TABLE "events" DROP CONSTRAINT "events_chain_block_hash_log_index";--> statement-breakpoint
DROP INDEX "contributions_chama_idx";--> statement-breakpoint
DROP INDEX "payouts_chama_idx";--> statement-breakpoint
ALTER TABLE "contributions" DROP CONSTRAINT "contributions_chain_id_block_number_log_index_pk";--> statement-breakpoint
ALTER TABLE "payouts" DROP CONSTRAINT "payouts_chain_id_block_number_log_index_pk";--> statement-breakpoint
ALTER TABLE "accounts" ALTER COLUMN "account" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "chamas" ALTER COLUMN "address" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "chamas" ALTER COLUMN "creator" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "contributions" ALTER COLUMN "address" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "contributions" ALTER COLUMN "tx_hash" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "contributions" ALTER COLUMN "contributor" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "block_hash" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "tx_hash" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "address" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "events" ALTER COLUMN "account" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "members" ALTER COLUMN "address" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "members" ALTER COLUMN "member" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "orphaned_events" ALTER COLUMN "block_hash" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "orphaned_events" ALTER COLUMN "tx_hash" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "orphaned_events" ALTER COLUMN "address" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "orphaned_events" ALTER COLUMN "account" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "payouts" ALTER COLUMN "address" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "payouts" ALTER COLUMN "tx_hash" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "payouts" ALTER COLUMN "recipient" SET DATA TYPE text COLLATE "C";--> statement-breakpoint
ALTER TABLE "contributions" ADD CONSTRAINT "contributions_chain_id_address_chama_id_block_number_log_index_pk" PRIMARY KEY("chain_id","address","chama_id","block_number","log_index");--> statement-breakpoint
ALTER TABLE "payouts" ADD CONSTRAINT "payouts_chain_id_address_chama_id_block_number_log_index_pk" PRIMARY KEY("chain_id","address","chama_id","block_number","log_index");--> statement-breakpoint
ALTER TABLE "events" DROP COLUMN "args";--> statement-breakpoint
ALTER TABLE "orphaned_events" DROP COLUMN "args";