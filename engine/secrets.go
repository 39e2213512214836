package engine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/vault"
)

// The credential vault (DESIGN §4 secrets.*, §11). Values are sealed by the
// vault package and stored by the graph store as opaque bytes. A value
// leaves the engine only as the result of a skill's secrets.get op the
// skill's allowed-tools grant; no method returns one, and no error, event or
// log line carries one: errors name the secret and the param, never the
// value (decodeParams names fields and JSON types only). A value handed to
// a skill is redacted from what its job's calls say afterwards (redact.go).

// maxSecretBytes bounds one value (keys, tokens and service-account files
// are far smaller).
const maxSecretBytes = 1 << 20

// VaultKeyPath is where the key lives in a state directory (DESIGN §2).
func VaultKeyPath(home string) string { return filepath.Join(home, "vault.key") }

// openVault loads the key. It is read on each use rather than held for the
// engine's life: a use is rare and the read costs microseconds, and a key
// file fixed or put back (chmod 600, a restored backup) works without a
// restart.
func (s *Server) openVault() (*vault.Vault, error) {
	if s.opts.Home == "" {
		return nil, wire.Errorf(wire.KindUnavailable, "the vault is not available: this engine runs without a state directory")
	}
	v, err := vault.Open(VaultKeyPath(s.opts.Home))
	if err != nil {
		return nil, wire.Errorf(wire.KindUnavailable, "the vault cannot be used: %v", err)
	}
	return v, nil
}

// checkVault makes sure the vault key exists from the engine's first start
// and says in the log, once, if it cannot be used; secrets.* calls repeat
// the reason to whoever makes them.
func checkVault(home string, log *slog.Logger) {
	if _, err := vault.Open(VaultKeyPath(home)); err != nil {
		log.Warn("secrets are unavailable until the vault key is fixed", "err", err)
	}
}

// checkSecretName applies the rule of wire.SecretNameParams to a name a
// skill asks for. The rejected name is never repeated: a value pasted into
// the wrong param must not come back in an error, an event or a log.
func checkSecretName(method, name string) error {
	return wire.Check(method, &wire.SecretNameParams{Name: name})
}

// methodsSecrets are the secrets.* entries of the method table.
func (s *Server) methodsSecrets() []*method {
	return []*method{
		def(wire.MethodSecretsSet, "Store a secret in the vault, encrypted; replaces one of the same name. The value is never returned by any method.", s.secretsSet),
		def(wire.MethodSecretsList, "Names and timestamps of the stored secrets (never their values).", s.secretsList),
		def(wire.MethodSecretsDelete, "Remove a secret from the vault.", s.secretsDelete),
	}
}

func (s *Server) secretsSet(ctx context.Context, _ *call, p *wire.SecretSetParams) (any, error) {
	if len(p.Value) > maxSecretBytes {
		return nil, wire.Errorf(wire.KindInvalid, "secrets.set: param \"value\" is larger than the %d MiB a secret may be", maxSecretBytes>>20)
	}
	v, err := s.openVault()
	if err != nil {
		return nil, err
	}
	nonce, ct, err := v.Seal(p.Name, []byte(p.Value))
	if err != nil {
		return nil, wire.Errorf(wire.KindInternal, "secrets.set: %v", err)
	}
	if err := s.store.PutSecret(ctx, p.Name, nonce, ct); err != nil {
		return nil, err
	}
	info, err := s.store.StatSecret(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	return info, nil
}

func (s *Server) secretsList(ctx context.Context, _ *call, _ *wire.NoParams) (any, error) {
	list, err := s.store.ListSecrets(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"secrets": list}, nil
}

func (s *Server) secretsDelete(ctx context.Context, _ *call, p *wire.SecretNameParams) (any, error) {
	if err := s.store.DeleteSecret(ctx, p.Name); err != nil {
		if errors.Is(err, graph.ErrNotFound) {
			return nil, wire.Errorf(wire.KindNotFound, "secret %q is not set; `agentos secrets list` shows the stored ones", p.Name)
		}
		return nil, err
	}
	return map[string]any{"name": p.Name, "deleted": true}, nil
}

// secretValue is the plaintext of a stored secret, for the secrets.get op
// of a skill whose allowed-tools grant it. Every failure is unavailable
// kind, so capability resolution can fall back to another provider: the
// secret is not set, the key cannot be read, or the key does not open it.
func (s *Server) secretValue(ctx context.Context, name string) (string, error) {
	if err := checkSecretName("secrets.get", name); err != nil {
		return "", err
	}
	nonce, ct, err := s.store.GetSecret(ctx, name)
	if errors.Is(err, graph.ErrNotFound) {
		return "", wire.Errorf(wire.KindUnavailable, "secret %s is not set; `agentos secrets set %s`", name, name)
	}
	if err != nil {
		return "", err
	}
	v, err := s.openVault()
	if err != nil {
		return "", err
	}
	plain, err := v.Unseal(name, nonce, ct)
	if err != nil {
		return "", wire.Errorf(wire.KindUnavailable, "%v; put back the vault.key it was set with, or set it again: `agentos secrets set %s`", err, name)
	}
	return string(plain), nil
}

// secretGet answers a skill's secrets.get op {name} with the value as a
// JSON string (the SDK's secrets.get returns it as is). The permission
// check has already run: see skillOps.HandleOp.
func (o *skillOps) secretGet(ctx context.Context, raw json.RawMessage) (any, error) {
	var p wire.SecretNameParams
	if err := decodeParams("secrets.get", raw, &p); err != nil {
		return nil, err
	}
	v, err := o.secret(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	// From now on the job redacts the value from everything said about it.
	recordSecret(jobFrom(ctx), p.Name, v)
	return v, nil
}
