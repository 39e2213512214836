// Package sdk owns the Python SDK that skills import (sdk/python: the agentos
// package, the worker entry script and the ast-based tool discovery) and ships
// it inside the agentos binary: Extract writes the embedded files to disk so an
// installed binary needs nothing but a Python 3.11+ interpreter. The contract
// between these files and the engine is docs/worker-protocol.md; running them is
// the broker's job.
//
// It must not import anything beyond the Python standard library in
// sdk/python, nor decide permissions: every SDK call is a request the engine
// checks.
package sdk
