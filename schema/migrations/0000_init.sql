CREATE TABLE "accounts" (
	"chain_id" bigint NOT NULL,
	"account" text NOT NULL,
	"chamas" bigint NOT NULL,
	"total_contributed" numeric(78, 0) NOT NULL,
	"total_received" numeric(78, 0) NOT NULL,
	"updated_at_block" bigint NOT NULL,
	CONSTRAINT "accounts_chain_id_account_pk" PRIMARY KEY("chain_id","account")
);
--> statement-breakpoint
CREATE TABLE "blocks" (
	"chain_id" bigint NOT NULL,
	"number" bigint NOT NULL,
	"hash" text NOT NULL,
	"parent_hash" text NOT NULL,
	CONSTRAINT "blocks_chain_id_number_pk" PRIMARY KEY("chain_id","number")
);
--> statement-breakpoint
CREATE TABLE "chamas" (
	"chain_id" bigint NOT NULL,
	"address" text NOT NULL,
	"chama_id" numeric(78, 0) NOT NULL,
	"creator" text,
	"name" text,
	"contribution_amount" numeric(78, 0),
	"max_members" numeric(78, 0),
	"member_count" bigint NOT NULL,
	"current_round" numeric(78, 0) NOT NULL,
	"total_contributed" numeric(78, 0) NOT NULL,
	"total_paid_out" numeric(78, 0) NOT NULL,
	"created_at_block" bigint,
	"updated_at_block" bigint NOT NULL,
	CONSTRAINT "chamas_chain_id_address_chama_id_pk" PRIMARY KEY("chain_id","address","chama_id")
);
--> statement-breakpoint
CREATE TABLE "contributions" (
	"chain_id" bigint NOT NULL,
	"address" text NOT NULL,
	"chama_id" numeric(78, 0) NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"round" numeric(78, 0) NOT NULL,
	"timestamp" numeric(78, 0) NOT NULL,
	"block_number" bigint NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" bigint NOT NULL,
	"contributor" text NOT NULL,
	CONSTRAINT "contributions_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index")
);
--> statement-breakpoint
CREATE TABLE "cursor" (
	"chain_id" bigint PRIMARY KEY NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"finalized_block" bigint DEFAULT 0 NOT NULL,
	"events_total" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"chain_id" bigint NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"log_index" bigint NOT NULL,
	"tx_hash" text NOT NULL,
	"tx_index" bigint NOT NULL,
	"address" text NOT NULL,
	"event" text NOT NULL,
	"chama_id" numeric(78, 0) NOT NULL,
	"account" text NOT NULL,
	"topics" text[] NOT NULL,
	"data" text NOT NULL,
	"args" jsonb NOT NULL,
	CONSTRAINT "events_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index"),
	CONSTRAINT "events_chain_block_hash_log_index" UNIQUE("chain_id","block_hash","log_index")
);
--> statement-breakpoint
CREATE TABLE "members" (
	"chain_id" bigint NOT NULL,
	"address" text NOT NULL,
	"chama_id" numeric(78, 0) NOT NULL,
	"member" text NOT NULL,
	"position" bigint NOT NULL,
	"joined_at_block" bigint NOT NULL,
	"total_contributed" numeric(78, 0) NOT NULL,
	"total_received" numeric(78, 0) NOT NULL,
	"contributions" bigint NOT NULL,
	"updated_at_block" bigint NOT NULL,
	CONSTRAINT "members_chain_id_address_chama_id_member_pk" PRIMARY KEY("chain_id","address","chama_id","member")
);
--> statement-breakpoint
CREATE TABLE "orphaned_events" (
	"reorg_id" bigint NOT NULL,
	"chain_id" bigint NOT NULL,
	"block_number" bigint NOT NULL,
	"block_hash" text NOT NULL,
	"log_index" bigint NOT NULL,
	"tx_hash" text NOT NULL,
	"tx_index" bigint NOT NULL,
	"address" text NOT NULL,
	"event" text NOT NULL,
	"chama_id" numeric(78, 0) NOT NULL,
	"account" text NOT NULL,
	"topics" text[] NOT NULL,
	"data" text NOT NULL,
	"args" jsonb NOT NULL,
	CONSTRAINT "orphaned_events_reorg_id_block_hash_log_index_pk" PRIMARY KEY("reorg_id","block_hash","log_index")
);
--> statement-breakpoint
CREATE TABLE "payouts" (
	"chain_id" bigint NOT NULL,
	"address" text NOT NULL,
	"chama_id" numeric(78, 0) NOT NULL,
	"amount" numeric(78, 0) NOT NULL,
	"round" numeric(78, 0) NOT NULL,
	"timestamp" numeric(78, 0) NOT NULL,
	"block_number" bigint NOT NULL,
	"tx_hash" text NOT NULL,
	"log_index" bigint NOT NULL,
	"recipient" text NOT NULL,
	CONSTRAINT "payouts_chain_id_block_number_log_index_pk" PRIMARY KEY("chain_id","block_number","log_index")
);
--> statement-breakpoint
CREATE TABLE "reorgs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"chain_id" bigint NOT NULL,
	"ancestor_block" bigint NOT NULL,
	"ancestor_hash" text NOT NULL,
	"depth" integer NOT NULL,
	"old_hash" text NOT NULL,
	"new_hash" text NOT NULL,
	"old_tip" bigint NOT NULL,
	"orphaned_events" integer NOT NULL,
	"detected_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "chamas_creator_idx" ON "chamas" USING btree ("chain_id","creator");--> statement-breakpoint
CREATE INDEX "contributions_chama_idx" ON "contributions" USING btree ("chain_id","address","chama_id","block_number","log_index");--> statement-breakpoint
CREATE INDEX "events_chama_idx" ON "events" USING btree ("chain_id","address","chama_id","block_number","log_index");--> statement-breakpoint
CREATE INDEX "events_account_idx" ON "events" USING btree ("chain_id","account","block_number","log_index");--> statement-breakpoint
CREATE INDEX "members_member_idx" ON "members" USING btree ("chain_id","member");--> statement-breakpoint
CREATE INDEX "payouts_chama_idx" ON "payouts" USING btree ("chain_id","address","chama_id","block_number","log_index");--> statement-breakpoint
CREATE INDEX "reorgs_chain_idx" ON "reorgs" USING btree ("chain_id","id");