package httpop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

// Stream limits: open streams per call, bytes per read, bytes per stream.
const (
	maxStreams    = 8
	streamChunk   = 64 << 10
	streamMaxBody = httpMaxBody
)

// stream is the open body of an http.request made with stream: true; the
// call reads it with http.read until its end, and it is closed when the
// call ends whatever the skill did.
type stream struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	wait   time.Duration // each read's own bound
	host   string
	read   int64
}

// open keeps body for http.read under a new id; the call's end closes it.
func (n *Net) open(callCtx context.Context, body io.ReadCloser, cancel context.CancelFunc, wait time.Duration, host string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.streams) >= maxStreams {
		return "", wire.Errorf(wire.KindInvalid, "http.request %s: %d streams are open already; read one to its end first", host, maxStreams)
	}
	if n.streams == nil {
		n.streams = map[string]*stream{}
	}
	n.seq++
	id := strconv.Itoa(n.seq)
	s := &stream{body: body, cancel: cancel, wait: wait, host: host}
	n.streams[id] = s
	context.AfterFunc(callCtx, func() { n.close(id) })
	return id, nil
}

func (n *Net) close(id string) {
	n.mu.Lock()
	s := n.streams[id]
	delete(n.streams, id)
	n.mu.Unlock()
	if s != nil {
		s.body.Close()
		s.cancel()
	}
}

// Read is the http.read op: the next piece of an open stream, as it comes
// ({data_b64, eof}); at the end (or an error) the stream is closed.
func (n *Net) Read(ctx context.Context, raw json.RawMessage) (any, error) {
	var p struct {
		Stream string `json:"stream"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, wire.Errorf(wire.KindInvalid, "http.read: %v", err)
	}
	n.mu.Lock()
	s := n.streams[p.Stream]
	n.mu.Unlock()
	if s == nil {
		return nil, wire.Errorf(wire.KindNotFound, "http.read: no open stream %q (it ended, or was never opened by this call)", p.Stream)
	}
	buf := make([]byte, streamChunk)
	idle := time.AfterFunc(s.wait, s.cancel)
	stop := context.AfterFunc(ctx, s.cancel)
	got, err := s.body.Read(buf)
	idle.Stop()
	stop()
	s.read += int64(got)
	out := map[string]any{"data_b64": base64.StdEncoding.EncodeToString(buf[:got]), "eof": false}
	switch {
	case errors.Is(err, io.EOF):
		n.close(p.Stream)
		out["eof"] = true
	case err != nil:
		n.close(p.Stream)
		if ctx.Err() != nil {
			return nil, wire.Errorf(wire.KindCancelled, "http.read %s: the call ended", s.host)
		}
		return nil, wire.Errorf(wire.KindUnavailable, "http.read %s: the stream broke off (or sent nothing for %s): %v", s.host, s.wait, err)
	case s.read > streamMaxBody:
		n.close(p.Stream)
		return nil, wire.Errorf(wire.KindInvalid, "http.read %s: the stream is longer than %d MiB", s.host, streamMaxBody>>20)
	}
	return out, nil
}
