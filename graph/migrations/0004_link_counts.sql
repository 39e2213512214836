-- 0004: live edges counted by (primary shape of the source, label, primary
-- shape of the target), kept by triggers as edges and nodes change, so the
-- graph overview (shapes and the labels that connect them, with counts)
-- reads a few rows instead of joining every edge to its two nodes. A node's
-- primary shape is the first word of nodes.shapes. An edge counts while it
-- and both its nodes are live. Rows that reach 0 stay (and are skipped).
CREATE TABLE link_counts (
  from_shape TEXT    NOT NULL,
  label      TEXT    NOT NULL,
  to_shape   TEXT    NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (from_shape, label, to_shape)
) WITHOUT ROWID;

INSERT INTO link_counts (from_shape, label, to_shape, n)
SELECT CASE WHEN instr(f.shapes, ' ') > 0 THEN substr(f.shapes, 1, instr(f.shapes, ' ') - 1) ELSE f.shapes END,
       e.label,
       CASE WHEN instr(t.shapes, ' ') > 0 THEN substr(t.shapes, 1, instr(t.shapes, ' ') - 1) ELSE t.shapes END,
       count(*)
FROM edges e JOIN nodes f ON f.id = e.from_id JOIN nodes t ON t.id = e.to_id
WHERE e.deleted_at IS NULL AND f.deleted_at IS NULL AND t.deleted_at IS NULL
GROUP BY 1, 2, 3;

-- An edge made live, or no longer.
CREATE TRIGGER link_counts_edge_insert AFTER INSERT ON edges WHEN NEW.deleted_at IS NULL BEGIN
  INSERT INTO link_counts (from_shape, label, to_shape, n)
  SELECT CASE WHEN instr(f.shapes, ' ') > 0 THEN substr(f.shapes, 1, instr(f.shapes, ' ') - 1) ELSE f.shapes END,
         NEW.label,
         CASE WHEN instr(t.shapes, ' ') > 0 THEN substr(t.shapes, 1, instr(t.shapes, ' ') - 1) ELSE t.shapes END,
         1
  FROM nodes f, nodes t
  WHERE f.id = NEW.from_id AND t.id = NEW.to_id AND f.deleted_at IS NULL AND t.deleted_at IS NULL
  ON CONFLICT (from_shape, label, to_shape) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER link_counts_edge_liveness AFTER UPDATE OF deleted_at ON edges
WHEN (OLD.deleted_at IS NULL) != (NEW.deleted_at IS NULL) BEGIN
  INSERT INTO link_counts (from_shape, label, to_shape, n)
  SELECT CASE WHEN instr(f.shapes, ' ') > 0 THEN substr(f.shapes, 1, instr(f.shapes, ' ') - 1) ELSE f.shapes END,
         NEW.label,
         CASE WHEN instr(t.shapes, ' ') > 0 THEN substr(t.shapes, 1, instr(t.shapes, ' ') - 1) ELSE t.shapes END,
         CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END
  FROM nodes f, nodes t
  WHERE f.id = NEW.from_id AND t.id = NEW.to_id AND f.deleted_at IS NULL AND t.deleted_at IS NULL
  ON CONFLICT (from_shape, label, to_shape) DO UPDATE SET n = n + excluded.n;
END;

-- A node deleted or restored takes its live edges (to live nodes) out of
-- the counts or back in; a self-loop counts once.
CREATE TRIGGER link_counts_node_liveness AFTER UPDATE OF deleted_at ON nodes
WHEN (OLD.deleted_at IS NULL) != (NEW.deleted_at IS NULL) BEGIN
  INSERT INTO link_counts (from_shape, label, to_shape, n)
  SELECT CASE WHEN instr(f.shapes, ' ') > 0 THEN substr(f.shapes, 1, instr(f.shapes, ' ') - 1) ELSE f.shapes END,
         e.label,
         CASE WHEN instr(t.shapes, ' ') > 0 THEN substr(t.shapes, 1, instr(t.shapes, ' ') - 1) ELSE t.shapes END,
         CASE WHEN NEW.deleted_at IS NULL THEN count(*) ELSE -count(*) END
  FROM edges e JOIN nodes f ON f.id = e.from_id JOIN nodes t ON t.id = e.to_id
  WHERE e.deleted_at IS NULL AND (e.from_id = NEW.id OR e.to_id = NEW.id)
    AND (f.id = NEW.id OR f.deleted_at IS NULL) AND (t.id = NEW.id OR t.deleted_at IS NULL)
  GROUP BY 1, 2, 3
  ON CONFLICT (from_shape, label, to_shape) DO UPDATE SET n = n + excluded.n;
END;

-- A node whose primary shape changes moves its live edges' counts.
CREATE TRIGGER link_counts_node_shape AFTER UPDATE OF shapes ON nodes
WHEN NEW.deleted_at IS NULL
  AND (CASE WHEN instr(OLD.shapes, ' ') > 0 THEN substr(OLD.shapes, 1, instr(OLD.shapes, ' ') - 1) ELSE OLD.shapes END)
   != (CASE WHEN instr(NEW.shapes, ' ') > 0 THEN substr(NEW.shapes, 1, instr(NEW.shapes, ' ') - 1) ELSE NEW.shapes END) BEGIN
  INSERT INTO link_counts (from_shape, label, to_shape, n)
  SELECT CASE WHEN f.id = NEW.id THEN (CASE WHEN instr(OLD.shapes, ' ') > 0 THEN substr(OLD.shapes, 1, instr(OLD.shapes, ' ') - 1) ELSE OLD.shapes END)
              ELSE (CASE WHEN instr(f.shapes, ' ') > 0 THEN substr(f.shapes, 1, instr(f.shapes, ' ') - 1) ELSE f.shapes END) END,
         e.label,
         CASE WHEN t.id = NEW.id THEN (CASE WHEN instr(OLD.shapes, ' ') > 0 THEN substr(OLD.shapes, 1, instr(OLD.shapes, ' ') - 1) ELSE OLD.shapes END)
              ELSE (CASE WHEN instr(t.shapes, ' ') > 0 THEN substr(t.shapes, 1, instr(t.shapes, ' ') - 1) ELSE t.shapes END) END,
         -count(*)
  FROM edges e JOIN nodes f ON f.id = e.from_id JOIN nodes t ON t.id = e.to_id
  WHERE e.deleted_at IS NULL AND (e.from_id = NEW.id OR e.to_id = NEW.id) AND f.deleted_at IS NULL AND t.deleted_at IS NULL
  GROUP BY 1, 2, 3
  ON CONFLICT (from_shape, label, to_shape) DO UPDATE SET n = n + excluded.n;
  INSERT INTO link_counts (from_shape, label, to_shape, n)
  SELECT CASE WHEN instr(f.shapes, ' ') > 0 THEN substr(f.shapes, 1, instr(f.shapes, ' ') - 1) ELSE f.shapes END,
         e.label,
         CASE WHEN instr(t.shapes, ' ') > 0 THEN substr(t.shapes, 1, instr(t.shapes, ' ') - 1) ELSE t.shapes END,
         count(*)
  FROM edges e JOIN nodes f ON f.id = e.from_id JOIN nodes t ON t.id = e.to_id
  WHERE e.deleted_at IS NULL AND (e.from_id = NEW.id OR e.to_id = NEW.id) AND f.deleted_at IS NULL AND t.deleted_at IS NULL
  GROUP BY 1, 2, 3
  ON CONFLICT (from_shape, label, to_shape) DO UPDATE SET n = n + excluded.n;
END;

-- Live nodes counted by primary shape, kept the same way: the overview's
-- shapes and their sizes.
CREATE TABLE shape_counts (
  shape TEXT    NOT NULL PRIMARY KEY,
  n     INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO shape_counts (shape, n)
SELECT CASE WHEN instr(shapes, ' ') > 0 THEN substr(shapes, 1, instr(shapes, ' ') - 1) ELSE shapes END, count(*)
FROM nodes WHERE deleted_at IS NULL GROUP BY 1;

CREATE TRIGGER shape_counts_node_insert AFTER INSERT ON nodes WHEN NEW.deleted_at IS NULL BEGIN
  INSERT INTO shape_counts (shape, n)
  VALUES (CASE WHEN instr(NEW.shapes, ' ') > 0 THEN substr(NEW.shapes, 1, instr(NEW.shapes, ' ') - 1) ELSE NEW.shapes END, 1)
  ON CONFLICT (shape) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER shape_counts_node_liveness AFTER UPDATE OF deleted_at ON nodes
WHEN (OLD.deleted_at IS NULL) != (NEW.deleted_at IS NULL) BEGIN
  INSERT INTO shape_counts (shape, n)
  VALUES (CASE WHEN instr(NEW.shapes, ' ') > 0 THEN substr(NEW.shapes, 1, instr(NEW.shapes, ' ') - 1) ELSE NEW.shapes END,
          CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END)
  ON CONFLICT (shape) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER shape_counts_node_shape AFTER UPDATE OF shapes ON nodes
WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NULL
  AND (CASE WHEN instr(OLD.shapes, ' ') > 0 THEN substr(OLD.shapes, 1, instr(OLD.shapes, ' ') - 1) ELSE OLD.shapes END)
   != (CASE WHEN instr(NEW.shapes, ' ') > 0 THEN substr(NEW.shapes, 1, instr(NEW.shapes, ' ') - 1) ELSE NEW.shapes END) BEGIN
  INSERT INTO shape_counts (shape, n)
  VALUES (CASE WHEN instr(OLD.shapes, ' ') > 0 THEN substr(OLD.shapes, 1, instr(OLD.shapes, ' ') - 1) ELSE OLD.shapes END, -1)
  ON CONFLICT (shape) DO UPDATE SET n = n + excluded.n;
  INSERT INTO shape_counts (shape, n)
  VALUES (CASE WHEN instr(NEW.shapes, ' ') > 0 THEN substr(NEW.shapes, 1, instr(NEW.shapes, ' ') - 1) ELSE NEW.shapes END, 1)
  ON CONFLICT (shape) DO UPDATE SET n = n + excluded.n;
END;
