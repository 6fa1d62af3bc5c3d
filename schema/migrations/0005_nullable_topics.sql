ALTER TABLE "events" ALTER COLUMN "topics" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "orphaned_events" ALTER COLUMN "topics" DROP NOT NULL;