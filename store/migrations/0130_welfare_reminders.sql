-- Welfare checks are tracked until checked: the responsible grid worker is reminded.
ALTER TABLE mob_welfare ADD COLUMN IF NOT EXISTS reminders int NOT NULL DEFAULT 0;
ALTER TABLE mob_welfare ADD COLUMN IF NOT EXISTS next_remind_at timestamptz;
CREATE INDEX IF NOT EXISTS mob_welfare_due ON mob_welfare (state, next_remind_at);
