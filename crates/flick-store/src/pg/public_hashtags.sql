-- Public step 11: SQLite's step of that number keys video_hashtags WITHOUT
-- ROWID, so a clip's tags are read in one seek. A PostgreSQL table is a
-- heap with separate indexes either way: nothing to change, the step keeps
-- the versions aligned.
SELECT 1;
