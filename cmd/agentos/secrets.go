package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/agentos/agentos/graph"
	"golang.org/x/sys/unix"
)

const secretsSummary = "Manage the credential vault: secrets are stored encrypted and handed only to skills whose allowed-tools name them.\n" +
	"  set NAME     store a secret; the value is read from stdin when it is piped in, else prompted for without echo,\n" +
	"               never taken from the command line (other users see argv in `ps`, and it stays in shell history)\n" +
	"  list         names and when each was last set; values are never shown\n" +
	"  delete NAME  remove a secret\n" +
	"  export-key [FILE]         write the vault key, wrapped with a passphrase (argon2id + XChaCha20-Poly1305), to FILE or stdout\n" +
	"  import-key FILE [--replace]  install a key export-key wrote (on another machine, after agentos restore)"

// secretNameRE mirrors the engine's rule, so a bad name is refused before
// anyone types a value.
var secretNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// maxSecretBytes is the engine's limit on one value.
const maxSecretBytes = 1 << 20

func runSecrets(ctx context.Context, e *env, args []string) error {
	// The subcommand is the first argument that is not a flag; flags may
	// come before or after it.
	sub, rest := "", args
	for i, a := range args {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			sub, rest = a, append(args[:i:i], args[i+1:]...)
			break
		}
	}
	switch sub {
	case "set":
		return runSecretsSet(ctx, e, rest)
	case "list":
		return runSecretsList(ctx, e, rest)
	case "delete":
		return runSecretsDelete(ctx, e, rest)
	case "export-key":
		return runExportKey(ctx, e, rest)
	case "import-key":
		return runImportKey(ctx, e, rest)
	case "":
		f := newFlags(e, "secrets", "set NAME | list | delete NAME", secretsSummary).withJSON()
		if _, err := f.parse(args); err != nil {
			return err
		}
		return usagef("usage: agentos secrets set NAME | list | delete NAME (see `agentos secrets --help`)")
	}
	return usagef("secrets: unknown subcommand %q; use set, list, delete, export-key or import-key (see `agentos secrets --help`)", sub)
}

func checkSecretName(name string) error {
	if !secretNameRE.MatchString(name) {
		return usagef("secrets: %q is not a valid secret name: use 1 to 128 characters of A-Z a-z 0-9 _ . -", clip(name, 40))
	}
	return nil
}

func runSecretsSet(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "secrets set", "NAME",
		"Store the secret NAME in the vault, encrypted, replacing any earlier value.\n"+
			"The value comes from stdin when stdin is not a terminal (one trailing newline is dropped),\n"+
			"otherwise from a prompt that does not echo. It is never taken from the command line:\n"+
			"other users can read argv in `ps`, and it stays in your shell history.\n\n"+
			"  agentos secrets set openai            # prompts\n"+
			"  agentos secrets set openai < key.txt  # from a file").withJSON()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) >= 2:
		// The extra argument is not repeated: it is probably the value.
		return usagef("secrets set takes the value from stdin or a prompt, never from the command line "+
			"(argv is visible to other users in `ps` and stays in shell history); "+
			"run `agentos secrets set %s` and type it, or `agentos secrets set %s < file`", clip(pos[0], 40), clip(pos[0], 40))
	case len(pos) == 0:
		return usagef("usage: agentos secrets set NAME (see `agentos secrets set --help`)")
	}
	name := pos[0]
	if err := checkSecretName(name); err != nil {
		return err
	}
	// Connect first: nobody should type a secret only to learn the engine
	// is down.
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	value, err := readSecretValue(ctx, e, name)
	if err != nil {
		return err
	}
	if !utf8.Valid(value) {
		// JSON would silently replace the bad bytes, storing another value.
		clear(value)
		return errors.New("secrets set: the value is not UTF-8 text; store binary data base64-encoded")
	}
	var raw rawJSON
	err = c.Call(ctx, "secrets.set", map[string]string{"name": name, "value": string(value)}, &raw)
	clear(value)
	if err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var info graph.SecretInfo
	if err := raw.decode(&info); err != nil {
		return err
	}
	verb := "updated"
	if info.CreatedAt.Equal(info.UpdatedAt) {
		verb = "stored"
	}
	fmt.Fprintf(e.stdout, "secret %s %s\n", info.Name, verb)
	return nil
}

// readSecretValue reads the value from a prompt when stdin is a terminal,
// else all of stdin minus one trailing newline.
func readSecretValue(ctx context.Context, e *env, name string) ([]byte, error) {
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		v, err := promptHidden(ctx, f, e.stderr, fmt.Sprintf("Value for secret %s (typing is hidden): ", name))
		if err != nil {
			return nil, err
		}
		if len(v) == 0 {
			return nil, errors.New("secrets set: no value entered; nothing was stored")
		}
		return v, nil
	}
	v, err := io.ReadAll(io.LimitReader(e.stdin, maxSecretBytes+2))
	if err != nil {
		return nil, fmt.Errorf("secrets set: read the value from stdin: %w", err)
	}
	v = trimNewline(v)
	switch {
	case len(v) > maxSecretBytes:
		return nil, fmt.Errorf("secrets set: the value on stdin is larger than the %d MiB a secret may be", maxSecretBytes>>20)
	case len(v) == 0:
		return nil, errors.New("secrets set: stdin is empty; pipe the value in, or run in a terminal to be prompted for it")
	}
	return v, nil
}

// trimNewline drops one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	if b, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		return bytes.TrimSuffix(b, []byte("\r"))
	}
	return b
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// promptHidden prints prompt to w and reads one line from the terminal tty
// with echo turned off. Echo comes back on every way out: the line read,
// an error, a panic, and an interrupting signal (SIGINT, SIGTERM, SIGHUP,
// SIGQUIT are caught while the prompt is up, so none of them can end the
// process with the terminal left silent).
func promptHidden(ctx context.Context, tty *os.File, w io.Writer, prompt string) ([]byte, error) {
	fd := int(tty.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("secrets set: read the terminal settings: %w", err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	quiet := *saved
	quiet.Lflag &^= unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHONL
	quiet.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, fmt.Errorf("secrets set: turn off echo: %w", err)
	}
	restore := sync.OnceFunc(func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, saved) })
	defer restore()

	fmt.Fprint(w, prompt)
	type line struct {
		b   []byte
		err error
	}
	got := make(chan line, 1)
	go func() {
		b, err := readTTYLine(tty)
		got <- line{b, err}
	}()
	var res line
	select {
	case res = <-got:
	case sig := <-sigs:
		res.err = fmt.Errorf("secrets set: %v; nothing was stored", sig)
	case <-ctx.Done():
		res.err = errors.New("secrets set: interrupted; nothing was stored")
	}
	restore()
	fmt.Fprintln(w) // the Enter the user typed was not echoed
	if errors.Is(res.err, io.EOF) {
		return nil, nil
	}
	if res.err != nil {
		return nil, res.err
	}
	return res.b, nil
}

// readTTYLine reads up to a newline (not included) or end of input. In
// canonical mode the terminal hands over one line per read; Ctrl-D after
// some text ends the line without a newline.
func readTTYLine(tty *os.File) ([]byte, error) {
	var out []byte
	buf := make([]byte, 1024)
	defer clear(buf)
	for {
		n, err := tty.Read(buf)
		out = append(out, buf[:n]...)
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			return bytes.TrimSuffix(out[:i], []byte("\r")), nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(out) > 0 {
				return out, nil
			}
			return nil, err
		}
	}
}

func runSecretsList(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "secrets list", "", "List the names of the stored secrets and when each was last set. Values are never shown.").withJSON()
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	raw, err := fetch(ctx, e, "secrets.list", nil)
	if err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var res struct {
		Secrets []graph.SecretInfo `json:"secrets"`
	}
	if err := raw.decode(&res); err != nil {
		return err
	}
	if len(res.Secrets) == 0 {
		fmt.Fprintln(e.stderr, "no secrets stored; `agentos secrets set NAME` adds one")
		return nil
	}
	t := newTable(e.stdout)
	t.row("NAME", "UPDATED")
	for _, s := range res.Secrets {
		t.row(s.Name, s.UpdatedAt.Local().Format("2006-01-02 15:04:05"))
	}
	return t.flush()
}

func runSecretsDelete(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "secrets delete", "NAME", "Remove the secret NAME from the vault.").withJSON()
	pos, err := f.parseN(args, 1, 1)
	if err != nil {
		return err
	}
	if err := checkSecretName(pos[0]); err != nil {
		return err
	}
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	var raw rawJSON
	if err := c.Call(ctx, "secrets.delete", map[string]string{"name": pos[0]}, &raw); err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	fmt.Fprintf(e.stdout, "secret %s deleted\n", pos[0])
	return nil
}
