-- Expiry changes of grants (Orb's expiration_change): the expiry before and after on the action, so that
-- the history shows what changed. (SQLite stores the action type as text: the new type needs no change.)
ALTER TABLE "credit_action" ADD COLUMN "previous_expires_at" DATETIME;
ALTER TABLE "credit_action" ADD COLUMN "new_expires_at" DATETIME;
