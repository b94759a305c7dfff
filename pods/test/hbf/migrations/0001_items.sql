-- The items of the /t/db routes (hbf/lib/test-routes.js). Applied once, before
-- the pod's code first runs: the code no longer creates its table.
CREATE TABLE t_items (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL,
    data  BLOB
);
