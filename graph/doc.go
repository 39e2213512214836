// Package graph owns the SQLite store of DESIGN §5: schema and migrations, the
// one writer connection and the read-only pool, nodes/edges/values, identity
// upsert, queries, full-text search and change history. It consumes shapes for
// coercion and identity but never serves RPC, emits events itself or touches
// anything outside its database file (callers get OnChange and wire it on).
package graph
