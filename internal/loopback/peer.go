package loopback

import "errors"

// errUnsupported: this system cannot tell who owns a TCP connection's
// other end.
var errUnsupported = errors.New("no way to tell the owner of a TCP connection on this system")

// errGone: the client end is no longer held by any process (closed,
// orphaned or in TIME_WAIT), so who made it cannot be told: refused.
var errGone = errors.New("the client end of the connection is no longer open")
