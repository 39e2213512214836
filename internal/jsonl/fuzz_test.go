package jsonl

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// splitter yields data in reads whose sizes come from cuts, with a read of
// nothing now and then, as a real stream may.
type splitter struct {
	data []byte
	cuts []byte
}

func (s *splitter) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := len(s.data)
	if len(s.cuts) > 0 {
		n = int(s.cuts[0])
		s.cuts = s.cuts[1:]
	}
	n = min(n, len(p), len(s.data))
	copy(p, s.data[:n])
	s.data = s.data[n:]
	if len(s.data) == 0 && len(s.cuts)%2 == 1 {
		return n, io.EOF // the last bytes and EOF in one read
	}
	return n, nil
}

// Whatever the bytes and however the reads cut them, the reader gives the
// lines bytes.Split gives (a final empty piece aside, "\r\n" counted as a
// terminator), and reports exactly those over max as too long.
func FuzzReaderSplitsLikeBytesSplit(f *testing.F) {
	f.Add([]byte("a\nbb\n"), []byte{1, 0, 3}, uint8(4))
	f.Add([]byte("a\r\nbb"), []byte{}, uint8(1))
	f.Add([]byte("\n\n\r\n\r"), []byte{2, 2}, uint8(0))
	f.Add([]byte(`{"id":1}`+"\n"+`{"id":"x","method":"m"}`), []byte{5, 7, 0, 9}, uint8(8))
	f.Add(bytes.Repeat([]byte("xy\r"), 40), []byte{255, 1}, uint8(30))
	f.Fuzz(func(t *testing.T, data, cuts []byte, max8 uint8) {
		max := int(max8) + 1
		want := bytes.Split(data, []byte("\n"))
		if len(want[len(want)-1]) == 0 {
			want = want[:len(want)-1]
		}
		r := NewReader(&splitter{data: data, cuts: cuts}, max)
		for i := 0; ; i++ {
			line, err := r.ReadLine()
			if errors.Is(err, io.EOF) {
				if i != len(want) {
					t.Fatalf("EOF after %d lines, want %d", i, len(want))
				}
				return
			}
			if i >= len(want) {
				t.Fatalf("line %d (%q, %v) past the %d lines", i, line, err, len(want))
			}
			w := bytes.TrimSuffix(want[i], []byte("\r"))
			var tl *TooLongError
			switch {
			case len(w) > max:
				if !errors.As(err, &tl) || tl.Len != len(w) || !bytes.Equal(tl.Head, w[:min(len(w), HeadSize)]) {
					t.Fatalf("line %d of %d bytes over %d: %q, %v", i, len(w), max, line, err)
				}
			case err != nil || !bytes.Equal(line, w):
				t.Fatalf("line %d: %q, %v; want %q", i, line, err, w)
			}
		}
	})
}
