package graph

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/agentos/agentos/shapes"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors callers branch on; every error the package returns for one of these
// conditions wraps the sentinel with a message saying what was wrong.
var (
	// ErrNotFound: no such (live) node or edge.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request itself is malformed (bad cursor, bad order, ...).
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the request contradicts the current state (deleting a
	// deleted node, a constraint the store enforces).
	ErrConflict = errors.New("conflict")
	// ErrReadOnly: a write on a store opened with OpenReadOnly.
	ErrReadOnly = errors.New("graph store is read-only")
)

// Error is how the package reports a request it refuses: Kind is the
// sentinel callers branch on (errors.Is), Msg says what was wrong. Its text
// is Msg alone: the kind travels as a kind (the engine's error.data.kind),
// not as a prefix someone would have to cut off.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Is makes errors.Is(err, e.Kind) true.
func (e *Error) Is(target error) bool { return target == e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// mapErr is the one place SQLite's error codes become the package's sentinels,
// so callers never have to know about driver error types. Errors that are
// already ours (or from shapes) pass through untouched.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(ErrNotFound, "%v", err)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return errorf(ErrConflict, "%v", err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return errorf(ErrNotFound, "a referenced node does not exist: %v", err)
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_CHECK:
		return errorf(ErrInvalid, "%v", err)
	case sqlite3.SQLITE_INTERRUPT:
		return fmt.Errorf("%w: %v", context.Canceled, err)
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_READONLY:
		return errorf(ErrReadOnly, "%v", err)
	case sqlite3.SQLITE_CONSTRAINT:
		return errorf(ErrConflict, "%v", err)
	}
	return err
}

// kindError gives an error from another package (shapes) one of our
// sentinels as well, keeping its message: errors.Is matches both
// shapes.ErrInvalid and ErrInvalid, so callers may branch on ours alone.
type kindError struct {
	err  error
	kind error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// shapeErr classifies an error from shapes.Coerce / CoerceValue: a rejected
// value and an unknown shape are both the caller's request being invalid.
func shapeErr(err error) error {
	if err == nil || errors.Is(err, ErrInvalid) {
		return err
	}
	if errors.Is(err, shapes.ErrInvalid) || errors.Is(err, shapes.ErrUnknownShape) {
		return &kindError{err: err, kind: ErrInvalid}
	}
	return err
}

// notFound says that id names no node; what is "node" or a role such as
// "from". A long id is cut short so it cannot swamp the message.
func notFound(what, id string) error {
	if what != "node" {
		what += " node"
	}
	if len(id) > 64 {
		return errorf(ErrNotFound, "%s %q… (%d bytes) does not exist", what, id[:32], len(id))
	}
	return errorf(ErrNotFound, "%s %q does not exist", what, id)
}
