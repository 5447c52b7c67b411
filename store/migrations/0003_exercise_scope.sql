-- The exercise scope of drills (anlan/exercise.py): a drill's signals and tasks say so, and a
-- drill's signal never collides with a real one of the same plan, region, time and level.
-- (A drill's readings are not stored: they are not observations of the real sensors.)
ALTER TABLE signals ADD COLUMN IF NOT EXISTS exercise boolean NOT NULL DEFAULT false;
ALTER TABLE signals DROP CONSTRAINT IF EXISTS signals_pkey;
ALTER TABLE signals ADD PRIMARY KEY (plan, region, exercise, ts, level);

ALTER TABLE tasks ADD COLUMN IF NOT EXISTS exercise boolean NOT NULL DEFAULT false;
