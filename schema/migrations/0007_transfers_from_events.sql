DROP TABLE IF EXISTS "contributions" CASCADE;--> statement-breakpoint
DROP TABLE IF EXISTS "payouts" CASCADE;