-- the recipe in a table of its own, so that storing an event never rewrites it.
CREATE TABLE recipes (
    batch_id INTEGER PRIMARY KEY REFERENCES batches (id) ON DELETE CASCADE,
    recipe TEXT NOT NULL
);
INSERT INTO recipes (batch_id, recipe) SELECT id, recipe FROM batches;
ALTER TABLE batches DROP COLUMN recipe
