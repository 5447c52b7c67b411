-- Directory (alerts): regions tree, people, duty roster, volunteers, vulnerable residents.
-- Written by `anlan directory import` as one snapshot per transaction (store/directory.py).
CREATE TABLE IF NOT EXISTS dir_regions (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    tier          text NOT NULL CHECK (tier IN ('county', 'township', 'community', 'grid')),
    parent_id     text,
    division_code text NOT NULL
);
CREATE INDEX IF NOT EXISTS dir_regions_parent ON dir_regions (parent_id);

CREATE TABLE IF NOT EXISTS dir_people (
    id      text PRIMARY KEY,
    name    text NOT NULL,
    roles   text[] NOT NULL,
    region  text NOT NULL,
    urls    text[] NOT NULL DEFAULT '{}',   -- Apprise URLs, primary first (secrets: restrict access)
    lang    text NOT NULL DEFAULT 'zh-CN',
    phone   text
);
CREATE INDEX IF NOT EXISTS dir_people_region ON dir_people (region);

CREATE TABLE IF NOT EXISTS dir_duty (
    id         bigserial PRIMARY KEY,
    person_id  text NOT NULL,
    region     text NOT NULL,
    starts_at  timestamptz,
    ends_at    timestamptz,
    weekdays   int[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}',
    daily_from time,
    daily_to   time
);

CREATE TABLE IF NOT EXISTS dir_volunteers (
    person_id text PRIMARY KEY,
    skills    text[] NOT NULL DEFAULT '{}',
    home_grid text NOT NULL,
    available boolean NOT NULL DEFAULT true
);

CREATE TABLE IF NOT EXISTS dir_vulnerable (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    category    text NOT NULL,
    grid        text NOT NULL,
    address     text NOT NULL DEFAULT '',
    needs       text NOT NULL DEFAULT '',
    contact     text NOT NULL DEFAULT '',
    responsible text NOT NULL
);

CREATE TABLE IF NOT EXISTS dir_imports (
    id          bigserial PRIMARY KEY,
    imported_at timestamptz NOT NULL DEFAULT now(),
    source      text NOT NULL,
    counts      jsonb NOT NULL
);
