package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/graph/replica"
	"github.com/agentos/agentos/vault"
)

// The vault entries a replica's credentials come from (docs/replication.md);
// without them, S3 keys come from the standard AWS variables and an SFTP
// password from the URL.
const (
	SecretS3KeyID      = "aws_access_key_id"
	SecretS3Secret     = "aws_secret_access_key"
	SecretSFTPPassword = "sftp_password"
)

// replication is the engine's replica: running, or why it is not.
type replication struct {
	rp  *replica.Replicator
	url string // redacted
	err string // why it never started
}

// startReplication starts replicating dbPath as cfg says. A replica that
// cannot start (a bad URL) is logged and shown in status; the engine
// serves on either way.
func startReplication(ctx context.Context, cfg ReplicateConfig, dbPath, home string, store *graph.Store, log *slog.Logger) *replication {
	if cfg.URL == "" {
		return nil
	}
	r := &replication{url: replica.Redact(cfg.URL)}
	interval := time.Second
	if cfg.Interval != "" {
		d, err := time.ParseDuration(cfg.Interval)
		if err != nil || d <= 0 {
			r.err = "replicate.interval " + cfg.Interval + " is not a positive Go duration (1s, 500ms)"
			log.Warn("the graph is not replicated", "replica", r.url, "err", r.err)
			return r
		}
		interval = d
	}
	rp, err := replica.Start(ctx, dbPath, replica.Options{URL: cfg.URL, Credentials: replicaCredentials(ctx, home, store),
		SyncInterval: interval, Logger: log})
	if err != nil {
		r.err = err.Error()
		log.Warn("the graph is not replicated", "replica", r.url, "err", err)
		return r
	}
	r.rp = rp
	if err := store.HandOverCheckpoints(ctx); err != nil {
		log.Warn("the store still checkpoints in the background", "err", err)
	}
	log.Info("replicating the graph", "replica", r.url, "interval", interval)
	return r
}

// replicaCredentials reads the replica's credentials from the vault, where
// the user keeps them (`agentos secrets set aws_access_key_id`).
func replicaCredentials(ctx context.Context, home string, store *graph.Store) replica.Credentials {
	v, err := vault.Open(VaultKeyPath(home))
	if err != nil {
		return replica.Credentials{}
	}
	get := func(name string) string {
		nonce, ct, err := store.GetSecret(ctx, name)
		if err != nil {
			return ""
		}
		b, err := v.Unseal(name, nonce, ct)
		if err != nil {
			return ""
		}
		return string(b)
	}
	return replica.Credentials{AccessKeyID: get(SecretS3KeyID), SecretAccessKey: get(SecretS3Secret), SFTPPassword: get(SecretSFTPPassword)}
}

// status is the replica as system.status and system.metrics show it.
func (r *replication) status() *wire.Replica {
	if r == nil {
		return nil
	}
	if r.rp == nil {
		return &wire.Replica{URL: r.url, Error: r.err}
	}
	st := r.rp.Status()
	return &wire.Replica{URL: st.URL, Local: st.Local, Replicated: st.Replicated, SyncedAt: st.SyncedAt.UTC(),
		LagSec: st.Lag.Seconds(), Error: st.Error, ErrorAt: st.ErrorAt.UTC()}
}

// close ships what is left, within a few seconds, and stops.
func (r *replication) close(log *slog.Logger) {
	if r == nil || r.rp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.rp.Close(ctx); err != nil {
		log.Warn("the replica's last sync", "replica", r.url, "err", err)
	}
}
