-- 0002: the credential vault's rows (DESIGN §2, §11). Values are sealed by
-- the vault package before they get here: the store only ever sees a nonce
-- and a ciphertext, never a plaintext. Secrets have no change records, no
-- FTS entries and no graph events. Timestamps are unix milliseconds.
CREATE TABLE secrets (
  name       TEXT    PRIMARY KEY,
  nonce      BLOB    NOT NULL,
  ciphertext BLOB    NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
