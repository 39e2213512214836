package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/vault"
)

// The vault key never travels in a replica (DESIGN §14): export-key and
// import-key move it, wrapped with a passphrase.

func runExportKey(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "secrets export-key", "[FILE]",
		"Write this home's vault key wrapped with a passphrase (argon2id + XChaCha20-Poly1305) to FILE\n"+
			"(created mode 0600, never over an existing file), or to stdout. The passphrase is prompted for\n"+
			"twice without echo, or read as the first line of stdin when stdin is not a terminal.\n"+
			"Keep the file and the passphrase apart: together they open every secret in the graph.")
	pos, err := f.parseN(args, 0, 1)
	if err != nil {
		return err
	}
	pass, err := readPassphrase(ctx, e, true)
	if err != nil {
		return err
	}
	defer clear(pass)
	data, err := vault.ExportKey(engine.VaultKeyPath(e.home), pass)
	if err != nil {
		return fmt.Errorf("secrets export-key: %w", err)
	}
	if len(pos) == 0 {
		_, err := e.stdout.Write(data)
		return err
	}
	out, err := os.OpenFile(pos[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("secrets export-key: %w", err)
	}
	if _, err := out.Write(data); err != nil {
		out.Close()
		os.Remove(pos[0])
		return fmt.Errorf("secrets export-key: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("secrets export-key: %w", err)
	}
	fmt.Fprintf(e.stderr, "exported the vault key to %s; import it with `agentos secrets import-key %s`\n", pos[0], pos[0])
	return nil
}

func runImportKey(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "secrets import-key", "FILE",
		"Install the vault key that `agentos secrets export-key` wrote, asking for its passphrase (prompted\n"+
			"without echo, or the first line of stdin). A different key already in this home is replaced only\n"+
			"with --replace: the secrets stored with it would no longer open.")
	replace := f.Bool("replace", false, "replace a different key already here")
	pos, err := f.parseN(args, 1, 1)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return fmt.Errorf("secrets import-key: %w", err)
	}
	pass, err := readPassphrase(ctx, e, false)
	if err != nil {
		return err
	}
	defer clear(pass)
	keyPath := engine.VaultKeyPath(e.home)
	if err := vault.ImportKey(keyPath, data, pass, *replace); err != nil {
		if errors.Is(err, vault.ErrPassphrase) {
			return fmt.Errorf("secrets import-key: %w (nothing was changed)", err)
		}
		return fmt.Errorf("secrets import-key: %w", err)
	}
	fmt.Fprintf(e.stderr, "installed the vault key at %s\n", keyPath)
	return nil
}

// readPassphrase prompts for a passphrase without echo (twice when twice
// is set) on a terminal, else reads the first line of stdin.
func readPassphrase(ctx context.Context, e *env, twice bool) ([]byte, error) {
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		p, err := promptHidden(ctx, f, e.stderr, "Passphrase (typing is hidden): ")
		if err != nil {
			return nil, err
		}
		if twice {
			again, err := promptHidden(ctx, f, e.stderr, "The same passphrase again: ")
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(p, again) {
				return nil, errors.New("the two passphrases differ; nothing was written")
			}
		}
		return p, nil
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the passphrase from stdin: %w", err)
	}
	line = trimNewline(line)
	if len(line) == 0 {
		return nil, errors.New("no passphrase: pipe it in as the first line of stdin, or run in a terminal to be prompted")
	}
	return line, nil
}
