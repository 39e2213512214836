//go:build linux && !amd64 && !arm64

package sandbox

import "errors"

var errNoSeccomp = errors.New("no seccomp filter for this architecture")

// seccompArch zero: no filter is built for this architecture.
const seccompArch = 0

func applySeccomp() error { return errNoSeccomp }

func seccompAvailable() bool { return false }
