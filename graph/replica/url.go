package replica

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"
	"github.com/benbjohnson/litestream/sftp"
)

// Schemes are the replica URLs this package serves.
var Schemes = []string{"file", "s3", "sftp"}

// Credentials are what a replica's URL does not say: the S3 keys (empty:
// the standard AWS variables) and an SFTP password (empty: the URL's).
type Credentials struct {
	AccessKeyID, SecretAccessKey string
	SFTPPassword                 string
}

// Redact is rawURL without what would let someone else in: the password
// of its user information and the value of any query parameter that looks
// like a secret. The rest is left as written.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(an unreadable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.User(u.User.Username())
	}
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		lk := strings.ToLower(k)
		if ok && (strings.Contains(lk, "secret") || strings.Contains(lk, "password") || strings.Contains(lk, "key") || strings.Contains(lk, "token")) {
			parts[i] = k + "=***"
		}
	}
	u.RawQuery = strings.Join(parts, "&")
	return u.String()
}

// client is the Litestream replica client of rawURL, with creds filled in.
func client(rawURL string, creds Credentials) (litestream.ReplicaClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("replica URL %s: %w", Redact(rawURL), err)
	}
	known := false
	for _, s := range Schemes {
		known = known || u.Scheme == s
	}
	if !known {
		return nil, fmt.Errorf("replica URL %s: the scheme must be one of %s", Redact(rawURL), strings.Join(Schemes, ", "))
	}
	if u.Scheme == "file" && !strings.HasPrefix(u.Path, "/") {
		return nil, fmt.Errorf("replica URL %s: a file replica needs an absolute path (file:///path)", Redact(rawURL))
	}
	c, err := litestream.NewReplicaClientFromURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("replica URL %s: %w", Redact(rawURL), err)
	}
	switch c := c.(type) {
	case *s3.ReplicaClient:
		caBundleOnce.Do(moveCABundle)
		if creds.AccessKeyID != "" && creds.SecretAccessKey != "" {
			c.AccessKeyID, c.SecretAccessKey = creds.AccessKeyID, creds.SecretAccessKey
		}
	case *sftp.ReplicaClient:
		if c.Password == "" {
			c.Password = creds.SFTPPassword
		}
		q := u.Query()
		c.KeyPath = q.Get("key_path")
		// Litestream trusts any host key when none is given: never here.
		if c.HostKey = q.Get("host_key"); c.HostKey == "" {
			if c.HostKey, err = knownHostKey(c.Host); err != nil {
				return nil, fmt.Errorf("replica URL %s: %w", Redact(rawURL), err)
			}
		}
	case *file.ReplicaClient:
	}
	return c, nil
}

var caBundleOnce sync.Once

// moveCABundle hands AWS_CA_BUNDLE to Go's own roots (SSL_CERT_FILE, when
// that is not set). Litestream's S3 client brings an http.Client of its
// own, to which the AWS SDK cannot add a CA bundle: with the variable set,
// every S3 replica would fail with "unable to add custom RootCAs
// HTTPClient" (the SDK's known limit, aws/aws-sdk-go-v2 and its users'
// trackers). Go's TLS reads SSL_CERT_FILE when it first loads the system
// roots, which in the engine is after replication starts.
func moveCABundle() {
	bundle := os.Getenv("AWS_CA_BUNDLE")
	if bundle == "" {
		return
	}
	os.Unsetenv("AWS_CA_BUNDLE")
	if os.Getenv("SSL_CERT_FILE") == "" {
		os.Setenv("SSL_CERT_FILE", bundle)
		slog.Info("S3 replica: AWS_CA_BUNDLE is used as SSL_CERT_FILE", "bundle", bundle)
		return
	}
	slog.Warn("S3 replica: AWS_CA_BUNDLE is ignored; SSL_CERT_FILE is set and gives the roots", "bundle", bundle, "ssl_cert_file", os.Getenv("SSL_CERT_FILE"))
}
