package graph

import (
	"crypto/rand"
	"sync"
	"time"
	"unicode/utf8"
)

// crockford is the ULID alphabet: no I, L, O, U, so ids survive being read
// aloud or retyped, and its order matches byte order so ids sort by time.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idGen makes 26-character ULID-style ids: 48 bits of unix milliseconds then
// 80 random bits. Within one millisecond (or if the clock steps back) the
// random part is incremented instead of redrawn, so ids from one generator are
// strictly increasing: "creation order" is simply id order, and keyset
// pagination over ids never misses a node created later.
type idGen struct {
	mu     sync.Mutex
	lastMS int64
	last   [16]byte
}

func (g *idGen) next(now time.Time) string {
	ms := now.UnixMilli()
	g.mu.Lock()
	defer g.mu.Unlock()
	if ms <= g.lastMS && !g.increment() {
		// Same (or earlier) millisecond: bump the random part; on the
		// (astronomically rare) overflow fall through to a fresh draw in the
		// next millisecond.
		return encodeULID(&g.last)
	}
	if ms <= g.lastMS {
		ms = g.lastMS + 1
	}
	g.lastMS = ms
	g.last[0] = byte(ms >> 40)
	g.last[1] = byte(ms >> 32)
	g.last[2] = byte(ms >> 24)
	g.last[3] = byte(ms >> 16)
	g.last[4] = byte(ms >> 8)
	g.last[5] = byte(ms)
	if _, err := rand.Read(g.last[6:]); err != nil {
		panic("graph: crypto/rand failed: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	// Clear the top random bit so a millisecond has 2^79 increments of room.
	g.last[6] &= 0x7f
	return encodeULID(&g.last)
}

// increment adds one to the random part; false on overflow.
func (g *idGen) increment() bool {
	for i := 15; i >= 6; i-- {
		g.last[i]++
		if g.last[i] != 0 {
			return true
		}
	}
	return false
}

func encodeULID(b *[16]byte) string {
	var out [26]byte
	// 128 bits → 26 base32 digits (130 bits, top two zero), most significant first.
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// validID reports whether s looks like an id this package makes; used to turn
// garbage into a clear ErrNotFound without touching the database.
func validID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}

// checkID refuses an id that cannot name a node before it reaches the
// database: text that is not UTF-8 is invalid, and is never echoed (its
// bytes could be anything, terminal escapes included); any other malformed
// id names no node, so it is not found, quoted and cut short.
func checkID(role, id string) error {
	if !utf8.ValidString(id) {
		return errorf(ErrInvalid, "%s id is not valid UTF-8; node ids are 26 characters like 01ARZ3NDEKTSV4RRFFQ69G5FAV", role)
	}
	if !validID(id) {
		return notFound(role, id)
	}
	return nil
}
