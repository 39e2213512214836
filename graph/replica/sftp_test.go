package replica

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpServer is an SSH server on 127.0.0.1 that serves SFTP (pkg/sftp's
// server) to user "backup" with password "hunter22", in a folder of the
// test's (Litestream's client names paths relative to the login folder);
// it returns its address, its host key as an authorized_keys line, and
// that folder.
func sftpServer(t *testing.T) (addr, hostKey, root string) {
	t.Helper()
	root = t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PasswordCallback: func(c ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
		if c.User() == "backup" && string(pass) == "hunter22" {
			return nil, nil
		}
		return nil, fmt.Errorf("refused")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for nch := range chans {
					if nch.ChannelType() != "session" {
						nch.Reject(ssh.UnknownChannelType, "sessions only")
						continue
					}
					ch, creqs, err := nch.Accept()
					if err != nil {
						return
					}
					go func() {
						for req := range creqs {
							ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
							req.Reply(ok, nil)
							if ok {
								srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(root))
								if err == nil {
									if err := srv.Serve(); err != nil && err != io.EOF {
										t.Logf("sftp server: %v", err)
									}
								}
								ch.Close()
							}
						}
					}()
				}
			}()
		}
	}()
	return ln.Addr().String(), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), root
}

// An SFTP replica on an SSH server in the test (its host key pinned in the
// URL, the password from the credentials): every node restores. Without
// a known host key, the replica is refused rather than trusted blindly.
func TestSFTPReplicaRestoresEveryNode(t *testing.T) {
	addr, hostKey, root := sftpServer(t)
	dir := "/replicas"
	rawURL := "sftp://backup@" + addr + dir + "/graph?host_key=" + url.QueryEscape(hostKey)
	creds := Credentials{SFTPPassword: "hunter22"}

	dbPath := filepath.Join(t.TempDir(), "data", "agentos.db")
	s := openGraph(t, dbPath)
	rp := replicate(t, dbPath, rawURL, creds)
	ids := addNotes(t, s, "sftp", 15)
	waitSynced(t, rp)
	if entries, err := os.ReadDir(filepath.Join(root, "replicas", "graph")); err != nil || len(entries) == 0 {
		t.Fatalf("nothing in the SFTP server's folder: %v %v", entries, err)
	}
	got, res := restoredIDs(t, rawURL, RestoreOptions{Credentials: creds})
	for _, id := range ids {
		if !got[id] {
			t.Errorf("node %s is not in the graph restored over SFTP", id)
		}
	}
	if res.Integrity != "ok" {
		t.Errorf("integrity: %q", res.Integrity)
	}
	if st := rp.Status(); strings.Contains(st.URL, "hunter22") {
		t.Errorf("status shows the password: %s", st.URL)
	}

	home := t.TempDir()
	t.Setenv("HOME", home) // no known_hosts
	_, err := Start(context.Background(), dbPath, Options{URL: "sftp://backup@" + addr + dir + "/other", Credentials: creds})
	if err == nil || !strings.Contains(err.Error(), "host key") {
		t.Errorf("an SFTP replica whose host key is unknown: %v", err)
	}
	// The host in ~/.ssh/known_hosts, hashed as HashKnownHosts writes it.
	host, port, _ := net.SplitHostPort(addr)
	salt := make([]byte, 20)
	rand.Read(salt)
	m := hmac.New(sha1.New, salt)
	m.Write([]byte("[" + host + "]:" + port))
	entry := "|1|" + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(m.Sum(nil)) + " " + hostKey + "\n"
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte("# a comment\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3k\n"+entry), 0o600); err != nil {
		t.Fatal(err)
	}
	db2 := filepath.Join(t.TempDir(), "data", "agentos.db")
	addNotes(t, openGraph(t, db2), "known host", 3)
	rp2 := replicate(t, db2, "sftp://backup@"+addr+dir+"/other", creds)
	if st := waitSynced(t, rp2); st.Replicated == "" {
		t.Errorf("nothing replicated to the known host: %+v", st)
	}
}
