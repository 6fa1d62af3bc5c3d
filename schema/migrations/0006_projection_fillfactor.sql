-- Rows of these tables are rewritten by every batch that touches them. With room left in each
-- page, the new version goes on the same page (a HOT update: no new index entries) and the old
-- one is pruned in place, so the tables do not swell between vacuums.
ALTER TABLE "chamas" SET (fillfactor = 70);--> statement-breakpoint
ALTER TABLE "members" SET (fillfactor = 70);--> statement-breakpoint
ALTER TABLE "accounts" SET (fillfactor = 70);
