-- 0001: the graph of DESIGN §5. Timestamps are unix milliseconds.
--
-- seq columns are internal row keys (cheap integer joins and index entries);
-- id columns are the public, time-sortable ULIDs. Creation order is seq order.

-- fields is the node's values as one JSON document (units kept: see
-- graph/document.go), so reading a node is one row. shapes is a copy of its
-- node_shapes rows, primary shape first, space separated. created_by is the
-- changes.seq of the record that created it (a batch write records one).
CREATE TABLE nodes (
  seq        INTEGER PRIMARY KEY,
  id         TEXT    NOT NULL UNIQUE,
  shapes     TEXT    NOT NULL,
  fields     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  created_by INTEGER
);

-- One row per shape a node belongs to (its own plus the `also` closure),
-- keyed so "nodes of shape S in creation order" is one range scan.
CREATE TABLE node_shapes (
  shape TEXT    NOT NULL,
  node  INTEGER NOT NULL,
  PRIMARY KEY (shape, node)
) WITHOUT ROWID;

-- Soft-deleted edges stay for history; at most one live edge per
-- (from, label, to). Both partial indexes also serve "live edges of X".
CREATE TABLE edges (
  seq        INTEGER PRIMARY KEY,
  id         TEXT    NOT NULL UNIQUE,
  from_id    TEXT    NOT NULL REFERENCES nodes(id),
  label      TEXT    NOT NULL,
  to_id      TEXT    NOT NULL REFERENCES nodes(id),
  created_at INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE UNIQUE INDEX edges_live_out ON edges(from_id, label, to_id) WHERE deleted_at IS NULL;
CREATE INDEX edges_live_in ON edges(to_id, label, from_id) WHERE deleted_at IS NULL;

-- Every stored value, keyed for (key, value) lookups: identity upsert and
-- where-queries search this primary key and never scan. Entries of one
-- (key, value) come out in owner order, i.e. creation order.
-- owner > 0 is a nodes.seq; owner < 0 is reserved for values on edges
-- (-edges.seq), e.g. the remote id on an imported_from provenance edge.
-- idx: -1 for a scalar, 0.. for array elements. value has no declared type
-- on purpose: no affinity converts it, so the text '5' never equals the
-- number 5 (coercion decides which one a field holds); booleans are 0/1, datetimes RFC 3339 text, JSON its text, and
-- text over 256 bytes a prefix plus a hash of the whole (graph/values.go,
-- indexForm): lookups stay exact, the full text lives in nodes.fields.
CREATE TABLE vals (
  key   TEXT    NOT NULL,
  value         NOT NULL,
  owner INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  unit  TEXT    NOT NULL,
  PRIMARY KEY (key, value, owner, idx)
) WITHOUT ROWID;

-- Full text of live nodes' searchable values; rowid = nodes.seq.
-- Contentless: the text lives in nodes.fields already (snippets are cut
-- from there), so it is not stored a third time.
CREATE VIRTUAL TABLE fts USING fts5(body, content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2');

-- History. A row with node set is one mutation of that node; a row with
-- node NULL is a create record shared by every node a batch created
-- (nodes.created_by points at it). before/after are JSON objects of only the
-- keys that changed, null meaning absent.
CREATE TABLE changes (
  seq    INTEGER PRIMARY KEY,
  node   INTEGER,
  at     INTEGER NOT NULL,
  actor  TEXT    NOT NULL,
  op     TEXT    NOT NULL,
  before TEXT,
  after  TEXT
);
CREATE INDEX changes_node ON changes(node, seq) WHERE node IS NOT NULL;
