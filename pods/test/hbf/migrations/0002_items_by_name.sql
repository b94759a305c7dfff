-- Looking items up by name (the /t/db/rollback route counts them by name).
CREATE INDEX t_items_name ON t_items (name);
