//go:build !linux

package mcpproxy

import "io"

// pollable returns in as it is: reopening a pipe through /proc is Linux's.
func pollable(in io.Reader) (io.Reader, func()) { return in, func() {} }
