// Package replica owns the graph's continuous replication and its restore,
// with Litestream (github.com/benbjohnson/litestream) embedded as a
// library (DESIGN §14): a Replicator ships the SQLite file's changes to a
// file://, s3:// or sftp:// replica while the engine runs and keeps what
// status shows (the replica's URL without credentials, the position
// replicated, the lag, the last error); Restore builds a database file
// from a replica, to a point in time if asked, and checks its integrity.
//
// It must not open the graph itself (package graph does), decide policy
// (the engine reads config.yaml and the vault, and passes what it found),
// or stop the engine when a replica fails: a failure is a status, never a
// reason to exit.
package replica
