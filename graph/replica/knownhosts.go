package replica

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// knownHostKey is the key ~/.ssh/known_hosts pins for host ("host" or
// "host:port"), as an authorized_keys line: an SFTP replica's server is
// never trusted blindly. Hashed entries (HashKnownHosts) are matched too.
func knownHostKey(host string) (string, error) {
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, "22"
	}
	want := name
	if port != "22" {
		want = "[" + name + "]:" + port
	}
	home, _ := os.UserHomeDir()
	path := filepath.Join(home, ".ssh", "known_hosts")
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("the SFTP server %s has no known host key: add host_key=<its public key, as in known_hosts> to the replica URL, or `ssh-keyscan %s >> %s` after checking it", host, name, path)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '@' {
			continue // markers (@revoked, @cert-authority) are not a pin
		}
		hosts, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		for _, h := range strings.Split(hosts, ",") {
			if h == want || hashedMatch(h, want) {
				key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rest))
				if err == nil {
					return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))), nil
				}
			}
		}
	}
	return "", fmt.Errorf("the SFTP server %s is not in %s: add host_key=<its public key> to the replica URL, or `ssh-keyscan %s >> %s` after checking it", host, path, name, path)
}

// hashedMatch says whether a hashed known_hosts entry (|1|salt|hash) is host.
func hashedMatch(entry, host string) bool {
	parts := strings.Split(entry, "|")
	if len(parts) != 4 || parts[1] != "1" {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[2])
	sum, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	m := hmac.New(sha1.New, salt)
	m.Write([]byte(host))
	return hmac.Equal(m.Sum(nil), sum)
}
