DROP TABLE "contributions" CASCADE;--> statement-breakpoint
DROP TABLE "payouts" CASCADE;