package wire

import (
	"fmt"
	"os"
	"path/filepath"
)

// Paths is the layout of a state directory (DESIGN §2). Clients need it to
// find the socket, the pid file and the bridge token; the daemon creates it.
type Paths struct {
	Home      string
	DB        string
	LogDir    string
	Log       string
	AuditLog  string
	Socket    string
	Lock      string
	PID       string
	ShapesDir string
	SkillsDir string
	Config    string
	Tmp       string // skill calls' working dirs
	Listeners string // what this home's own processes listen on (AnnounceListener)
}

// PathsFor lays out home.
func PathsFor(home string) Paths {
	return Paths{
		Home:      home,
		DB:        filepath.Join(home, "data", "agentos.db"),
		LogDir:    filepath.Join(home, "logs"),
		Log:       filepath.Join(home, "logs", "engine.log"),
		AuditLog:  filepath.Join(home, "logs", "engine-io.jsonl"),
		Socket:    filepath.Join(home, "engine.sock"),
		Lock:      filepath.Join(home, "engine.lock"),
		PID:       filepath.Join(home, "engine.pid"),
		ShapesDir: filepath.Join(home, "shapes"),
		SkillsDir: filepath.Join(home, "skills"),
		Config:    filepath.Join(home, "config.yaml"),
		Tmp:       filepath.Join(home, "tmp"),
		Listeners: filepath.Join(home, "run", "listeners"),
	}
}

// DefaultHome is $AGENTOS_HOME, else ~/.agentos.
func DefaultHome() (string, error) {
	if h := os.Getenv("AGENTOS_HOME"); h != "" {
		return filepath.Abs(h)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory (set AGENTOS_HOME): %w", err)
	}
	return filepath.Join(home, ".agentos"), nil
}
