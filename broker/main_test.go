package broker

import (
	"os"
	"testing"

	"github.com/agentos/agentos/broker/sandbox"
)

// TestMain lets this test binary act as the sandbox helper the runner re-executes.
func TestMain(m *testing.M) {
	sandbox.MaybeRunChild()
	os.Exit(m.Run())
}
