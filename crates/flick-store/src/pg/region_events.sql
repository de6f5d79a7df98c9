-- Region step 10: the event log's indexes, as in SQLite's step of the
-- same number (each index is one more leaf written per impression).
DROP INDEX events_video;
DROP INDEX events_creator;
CREATE INDEX events_creator ON events(creator_id) WHERE creator_id IS NOT NULL;
