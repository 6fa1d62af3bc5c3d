-- An account is the sum of its member rows (schema/index.ts, members.joins): the accounts table
-- goes, and each member row counts its joins, taken from the stored events so existing rows
-- stay exactly what a rebuild would give.
DROP TABLE "accounts" CASCADE;--> statement-breakpoint
ALTER TABLE "members" ADD COLUMN "joins" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "members" m SET "joins" = j.n
FROM (SELECT chain_id, address, chama_id, account, count(*) AS n FROM "events" WHERE event = 'MemberJoined' GROUP BY 1, 2, 3, 4) j
WHERE m.chain_id = j.chain_id AND m.address = j.address AND m.chama_id = j.chama_id AND m.member = j.account;
