// Package bridge owns the HTTP bridge: read-only graph API over a read-only SQLite
// connection, SSE observer stream, app-call endpoint, web UI and JS app SDK (DESIGN §9).
// Not built yet: see the bridge issue.
package bridge
