//go:build !linux

package loopback

import "net"

func peerUID(local, remote *net.TCPAddr) (int, error) { return 0, errUnsupported }
