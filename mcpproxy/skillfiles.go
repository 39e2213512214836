package mcpproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.yaml.in/yaml/v3"
)

// The Agent Skills extension of MCP (SEP-2640): every file of every skill
// is a resource skill://NAME/PATH, skills/list and skills/get describe each
// skill (its frontmatter and every file with its digest and size), and
// resources/directory/read lists a folder of one. mcp-go has no hook for
// methods of its own, so the proxy answers these three before mcp-go sees
// them (answerAhead, intercept.go).
const (
	skillsExtension = "io.modelcontextprotocol/skills"
	skillScheme     = "skill://"
	dirMIME         = "inode/directory"

	// The extension's limits on what one entry lists; a skill over them
	// is listed with resources "dynamic" (its files are still readable).
	maxSkillFiles = 512
	maxSkillBytes = 16 << 20
	// skillsPage is how many skills one skills/list page holds.
	skillsPage = 50
)

// skillFiles is what the proxy serves of the skills' folders, rebuilt with
// each refresh.
type skillFiles struct {
	mu     sync.Mutex
	skills []servedSkill // by name
}

type servedSkill struct {
	name, dir, description string
	bundled                bool
}

func (f *skillFiles) set(skills []skillEntry) {
	var out []servedSkill
	for _, sk := range skills {
		if sk.Invalid == "" && sk.Dir != "" {
			out = append(out, servedSkill{name: sk.ID, dir: sk.Dir, description: sk.Description, bundled: sk.Source == "bundled"})
		}
	}
	// The user's own skills first, then the bundled ones; by name within.
	sort.Slice(out, func(i, j int) bool {
		if out[i].bundled != out[j].bundled {
			return !out[i].bundled
		}
		return out[i].name < out[j].name
	})
	f.mu.Lock()
	f.skills = out
	f.mu.Unlock()
}

func (f *skillFiles) all() []servedSkill {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.skills
}

func (f *skillFiles) find(name string) (servedSkill, bool) {
	for _, s := range f.all() {
		if s.name == name {
			return s, true
		}
	}
	return servedSkill{}, false
}

// skillEntryJSON is one skill as skills/list and skills/get give it.
type skillEntryJSON struct {
	URI         string         `json:"uri"`
	Frontmatter map[string]any `json:"frontmatter"`
	Resources   any            `json:"resources"` // []fileEntry, or "dynamic"
}

type fileEntry struct {
	URI    string `json:"uri"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// entry describes one skill: its SKILL.md's frontmatter, as written, and
// every file of its folder (dot files and __pycache__ left out).
func (s servedSkill) entry() (skillEntryJSON, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return skillEntryJSON{}, err
	}
	defer root.Close()
	md, err := root.ReadFile("SKILL.md")
	if err != nil {
		return skillEntryJSON{}, err
	}
	e := skillEntryJSON{URI: skillScheme + s.name + "/SKILL.md", Frontmatter: frontmatterOf(md)}
	var files []fileEntry
	var total int64
	dynamic := false
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "__pycache__") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		data, err := root.ReadFile(p)
		if err != nil {
			return err
		}
		total += int64(len(data))
		if len(files) == maxSkillFiles || total > maxSkillBytes {
			dynamic = true
			return fs.SkipAll
		}
		sum := sha256.Sum256(data)
		files = append(files, fileEntry{URI: skillScheme + s.name + "/" + p, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))})
		return nil
	})
	if err != nil {
		return skillEntryJSON{}, err
	}
	if dynamic {
		e.Resources = "dynamic"
	} else {
		e.Resources = files
	}
	return e, nil
}

// frontmatterOf is the YAML between SKILL.md's --- lines, as an object.
func frontmatterOf(md []byte) map[string]any {
	text := strings.ReplaceAll(string(bytes.TrimPrefix(md, []byte("\xef\xbb\xbf"))), "\r\n", "\n")
	head, _, _ := strings.Cut(strings.TrimPrefix(text, "---\n"), "\n---")
	out := map[string]any{}
	_ = yaml.Unmarshal([]byte(head), &out)
	return out
}

// splitSkillURI splits skill://NAME/PATH; PATH is "" for the skill's root.
func splitSkillURI(uri string) (name, rel string, ok bool) {
	rest, ok := strings.CutPrefix(uri, skillScheme)
	if !ok {
		return "", "", false
	}
	name, rel, _ = strings.Cut(rest, "/")
	rel = strings.TrimSuffix(rel, "/")
	if name == "" || (rel != "" && (!fs.ValidPath(rel) || path.Clean(rel) != rel)) {
		return "", "", false
	}
	return name, rel, true
}

// readSkillFile answers resources/read of skill://NAME/PATH: text when the
// file is UTF-8 (SKILL.md as text/markdown), else a blob. os.Root keeps the
// read inside the skill's folder whatever its links say.
func (p *Proxy) readSkillFile(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	uri := req.Params.URI
	name, rel, ok := splitSkillURI(uri)
	sk, found := p.skillFiles.find(name)
	if !ok || !found || rel == "" || hidden(rel) {
		return nil, fmt.Errorf("%w: %s", mcp.ErrResourceNotFound, uri)
	}
	root, err := os.OpenRoot(sk.dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", mcp.ErrResourceNotFound, uri)
	}
	defer root.Close()
	if fi, err := root.Stat(rel); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s", mcp.ErrResourceNotFound, uri)
	}
	data, err := root.ReadFile(rel)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", mcp.ErrResourceNotFound, uri, err)
	}
	mt := fileMIME(rel)
	if utf8.Valid(data) && !bytes.ContainsRune(data, 0) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: mt, Text: string(data)}}, nil
	}
	return []mcp.ResourceContents{mcp.BlobResourceContents{URI: uri, MIMEType: mt, Blob: base64.StdEncoding.EncodeToString(data)}}, nil
}

func hidden(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, ".") || part == "__pycache__" {
			return true
		}
	}
	return false
}

func fileMIME(rel string) string {
	switch ext := strings.ToLower(path.Ext(rel)); ext {
	case ".md":
		return "text/markdown"
	case ".py":
		return "text/x-python"
	case ".yaml", ".yml":
		return "application/yaml"
	case "":
		return "text/plain"
	default:
		if mt := mime.TypeByExtension(ext); mt != "" {
			return mt
		}
		return "application/octet-stream"
	}
}

// skillManifests are the skills' SKILL.md files as resources/list shows
// them: named and described from the frontmatter. Every other file is read
// through the skill://{skill}/{+path} template.
func (p *Proxy) skillManifests(skills []skillEntry) []server.ServerResource {
	var out []server.ServerResource
	for _, sk := range skills {
		if sk.Invalid != "" || sk.Dir == "" {
			continue
		}
		out = append(out, server.ServerResource{
			Resource: mcp.NewResource(skillScheme+sk.ID+"/SKILL.md", sk.ID,
				mcp.WithResourceDescription(sk.Description), mcp.WithMIMEType("text/markdown")),
			Handler: p.readSkillFile,
		})
	}
	return out
}

func skillFileTemplate(p *Proxy) server.ServerResourceTemplate {
	return server.ServerResourceTemplate{
		Template: mcp.NewResourceTemplate(skillScheme+"{skill}/{+path}", "skill file",
			mcp.WithTemplateDescription("A file of an agentos skill (Agent Skills over MCP, SEP-2640): skills/list names them, with digests.")),
		Handler: p.readSkillFile,
	}
}

// skillMethod answers skills/list, skills/get and resources/directory/read;
// ok is false for any other method.
func (p *Proxy) skillMethod(method string, params json.RawMessage) (result any, rpcErr *mcp.JSONRPCErrorDetails, ok bool) {
	invalid := func(format string, a ...any) (any, *mcp.JSONRPCErrorDetails, bool) {
		d := mcp.NewJSONRPCErrorDetails(mcp.INVALID_PARAMS, fmt.Sprintf(format, a...), nil)
		return nil, &d, true
	}
	var in struct {
		URI    string `json:"uri"`
		Cursor string `json:"cursor"`
	}
	switch method {
	case "skills/list", "skills/get", "resources/directory/read":
		if len(bytes.TrimSpace(params)) > 0 && json.Unmarshal(params, &in) != nil {
			return invalid("%s: params must be an object", method)
		}
	default:
		return nil, nil, false
	}
	switch method {
	case "skills/list":
		skills := p.skillFiles.all()
		start := 0
		if in.Cursor != "" {
			n, err := strconv.Atoi(in.Cursor)
			if err != nil || n < 0 || n > len(skills) {
				return invalid("skills/list: cursor %q is not one this server gave", in.Cursor)
			}
			start = n
		}
		end := min(start+skillsPage, len(skills))
		entries := []skillEntryJSON{}
		for _, s := range skills[start:end] {
			if e, err := s.entry(); err == nil {
				entries = append(entries, e)
			} else {
				p.log.Warn("skill left out of skills/list", "skill", s.name, "err", err)
			}
		}
		res := cacheable(map[string]any{"skills": entries})
		if end < len(skills) {
			res["nextCursor"] = strconv.Itoa(end)
		}
		return res, nil, true
	case "skills/get":
		name, rel, okURI := splitSkillURI(in.URI)
		s, found := p.skillFiles.find(name)
		if !okURI || !found || rel != "SKILL.md" {
			return invalid("skills/get: no skill at %q (a skill's URI is skill://NAME/SKILL.md)", in.URI)
		}
		e, err := s.entry()
		if err != nil {
			return invalid("skills/get: %s: %v", in.URI, err)
		}
		return cacheable(map[string]any{"skill": e}), nil, true
	default: // resources/directory/read
		children, err := p.readSkillDir(in.URI)
		if err != nil {
			return invalid("resources/directory/read: %v", err)
		}
		return cacheable(map[string]any{"resources": children}), nil, true
	}
}

// cacheable adds what a 2026-07-28 result carries (resultType, and the
// list-caching attributes of SEP-2549: a skill's files change when the
// user edits them, so nothing is cached, and they are the user's); older
// protocol versions ignore the extra fields.
func cacheable(res map[string]any) map[string]any {
	res["resultType"] = "complete"
	res["ttlMs"] = 0
	res["cacheScope"] = mcp.CacheScopePrivate
	return res
}

// readSkillDir lists the direct children of a skill's folder or subfolder.
func (p *Proxy) readSkillDir(uri string) ([]mcp.Resource, error) {
	name, rel, ok := splitSkillURI(uri)
	s, found := p.skillFiles.find(name)
	if !ok || !found || hidden(rel) {
		return nil, fmt.Errorf("%q is not a directory of a skill", uri)
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	dir := rel
	if dir == "" {
		dir = "."
	}
	if fi, err := root.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%q is not a directory", uri)
	}
	entries, err := fs.ReadDir(root.FS(), dir)
	if err != nil {
		return nil, err
	}
	base := skillScheme + name + "/"
	if rel != "" {
		base += rel + "/"
	}
	out := []mcp.Resource{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.Name() == "__pycache__" {
			continue
		}
		switch {
		case e.IsDir():
			out = append(out, mcp.NewResource(base+e.Name()+"/", e.Name(), mcp.WithMIMEType(dirMIME)))
		case e.Type().IsRegular():
			out = append(out, mcp.NewResource(base+e.Name(), e.Name(), mcp.WithMIMEType(fileMIME(e.Name()))))
		}
	}
	return out, nil
}

// answerSkillMethod is skillMethod for a raw JSON-RPC request: the
// response to write, or errNotOurs.
func (p *Proxy) answerSkillMethod(msg []byte) (mcp.JSONRPCMessage, error) {
	if !bytes.Contains(msg, []byte(`"skills/`)) && !bytes.Contains(msg, []byte(`"resources/directory/read"`)) {
		return nil, errNotOurs // every other message, without decoding it
	}
	var req struct {
		ID     any             `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(msg, &req) != nil || req.ID == nil {
		return nil, errNotOurs
	}
	res, rpcErr, ok := p.skillMethod(req.Method, req.Params)
	if !ok {
		return nil, errNotOurs
	}
	id := mcp.NewRequestId(req.ID)
	if rpcErr != nil {
		return mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: *rpcErr}, nil
	}
	return mcp.JSONRPCResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Result: res}, nil
}
