package agents

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Dir is a folder of agent files and what it belongs to.
type Dir struct {
	Path   string
	Source string // "home", or "skill:ID"
}

// Problem is an agent file that did not load, and why.
type Problem struct {
	Path   string `json:"path"`
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Listing is every agent of some folders: those that loaded, by name, and
// the files that did not.
type Listing struct {
	Agents   []*Agent  `json:"agents"`
	Problems []Problem `json:"problems,omitempty"`
}

// Get is the agent called name, or nil.
func (l Listing) Get(name string) *Agent {
	for _, a := range l.Agents {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Load reads every *.md file of dirs, in order: an earlier folder's agent
// wins over a later one of the same name (the home's over a skill's),
// which is listed as a problem. Files are read at each call, so an edit
// applies to the next run.
func Load(dirs []Dir) Listing {
	var l Listing
	for _, d := range dirs {
		entries, err := os.ReadDir(d.Path)
		if err != nil {
			if !os.IsNotExist(err) {
				l.Problems = append(l.Problems, Problem{Path: d.Path, Source: d.Source, Reason: err.Error()})
			}
			continue
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			path := filepath.Join(d.Path, e.Name())
			data, err := readSmall(path)
			var a *Agent
			if err == nil {
				a, err = Parse(path, d.Source, data)
			}
			switch {
			case err != nil:
				l.Problems = append(l.Problems, Problem{Path: path, Source: d.Source, Reason: err.Error()})
			case l.Get(a.Name) != nil:
				l.Problems = append(l.Problems, Problem{Path: path, Source: d.Source,
					Reason: "another agent is called " + a.Name + " (" + l.Get(a.Name).Path + "), and it wins"})
			default:
				l.Agents = append(l.Agents, a)
			}
		}
	}
	sort.Slice(l.Agents, func(i, j int) bool { return l.Agents[i].Name < l.Agents[j].Name })
	return l
}

// maxFile bounds an agent file.
const maxFile = 256 << 10

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err == nil && len(data) > maxFile {
		err = errors.New("the file is larger than 256 KiB")
	}
	return data, err
}
