package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// publicSkills are real skills from the public anthropics/skills
// repository, kept (with their licences) in ../shared/testdata, never in
// this repository.
var publicSkills = []string{"brand-guidelines", "internal-comms", "mcp-builder", "skill-creator", "theme-factory"}

func publicSkillsDir(t *testing.T) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "shared", "testdata", "agent-skills")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no public skills in %s: %v", dir, err)
	}
	return dir
}

// listedSkill is one entry of skills/list (SEP-2640).
type listedSkill struct {
	URI         string         `json:"uri"`
	Frontmatter map[string]any `json:"frontmatter"`
	Resources   []struct {
		URI    string `json:"uri"`
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
	} `json:"resources"`
}

// rawRequest sends a method mcp-go's client has no call for.
func rawRequest(t *testing.T, c *client.Client, id int, method string, params any) (json.RawMessage, *mcp.JSONRPCErrorDetails) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.GetTransport().SendRequest(ctx, transport.JSONRPCRequest{JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(int64(id)), Method: method, Params: params})
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res.Result, res.Error
}

// Five public Agent Skills install and validate as they are, and an MCP
// client gets each whole: as a prompt (its guide), as skills/list entries
// whose digests match the files, and every file through resources/read of
// skill://NAME/PATH, folders through resources/directory/read.
func TestPublicAgentSkillsAreServedWhole(t *testing.T) {
	src := publicSkillsDir(t)
	home := testkit.Home(t)
	for _, name := range publicSkills {
		if r := agentos(t, home, "skills", "install", filepath.Join(src, name), "--yes"); r.code != 0 {
			t.Fatalf("install %s: %+v", name, r)
		}
	}
	// A skill whose folder links out of itself: the link is never followed.
	testkit.AddSkill(t, home, "leaky", "", "")
	if err := os.Symlink("/etc/passwd", filepath.Join(home, "skills", "leaky", "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(home, "skills", "leaky", "etc")); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, home)
	var listed struct {
		Skills []struct{ ID, Invalid string }
	}
	call(t, d.client(t), "skills.list", nil, &listed)
	for _, sk := range listed.Skills {
		if slices.Contains(publicSkills, sk.ID) && sk.Invalid != "" {
			t.Errorf("%s is invalid: %s", sk.ID, sk.Invalid)
		}
	}

	c := mcpSession(t, home, "--no-autostart")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prompts, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	raw, rpcErr := rawRequest(t, c, 9001, "skills/list", map[string]any{})
	if rpcErr != nil {
		t.Fatalf("skills/list: %+v", rpcErr)
	}
	var list struct {
		Skills []listedSkill `json:"skills"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	for _, name := range publicSkills {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(src, name)
			md, _ := os.ReadFile(filepath.Join(dir, "SKILL.md"))
			i := slices.IndexFunc(prompts.Prompts, func(p mcp.Prompt) bool { return p.Name == name })
			if i < 0 {
				t.Fatalf("no prompt %s", name)
			}
			var get mcp.GetPromptRequest
			get.Params.Name = name
			pr, err := c.GetPrompt(ctx, get)
			if err != nil {
				t.Fatal(err)
			}
			_, body, _ := strings.Cut(strings.TrimPrefix(string(md), "---\n"), "\n---")
			if text := pr.Messages[0].Content.(mcp.TextContent).Text; text != strings.TrimSpace(body) {
				t.Errorf("the prompt is not the guide: %.80q", text)
			}

			j := slices.IndexFunc(list.Skills, func(e listedSkill) bool { return e.URI == "skill://"+name+"/SKILL.md" })
			if j < 0 {
				t.Fatalf("skills/list has no %s", name)
			}
			entry := list.Skills[j]
			if entry.Frontmatter["name"] != name {
				t.Errorf("frontmatter %v", entry.Frontmatter)
			}
			listedFiles := map[string]string{}
			for _, r := range entry.Resources {
				listedFiles[r.URI] = r.Digest
			}
			// Every file of the folder, as installed (the licence too), is
			// listed with its digest and reads back byte for byte.
			n := 0
			filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
				if err != nil || de.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				uri := "skill://" + name + "/" + filepath.ToSlash(rel)
				data, _ := os.ReadFile(p)
				sum := sha256.Sum256(data)
				if listedFiles[uri] != "sha256:"+hex.EncodeToString(sum[:]) {
					t.Errorf("%s: listed digest %q", uri, listedFiles[uri])
				}
				var read mcp.ReadResourceRequest
				read.Params.URI = uri
				res, err := c.ReadResource(ctx, read)
				if err != nil {
					t.Errorf("read %s: %v", uri, err)
					return nil
				}
				var got []byte
				switch rc := res.Contents[0].(type) {
				case mcp.TextResourceContents:
					got = []byte(rc.Text)
				case mcp.BlobResourceContents:
					got, _ = base64.StdEncoding.DecodeString(rc.Blob)
				}
				if string(got) != string(data) {
					t.Errorf("read %s: %d bytes, want the file's %d", uri, len(got), len(data))
				}
				n++
				return nil
			})
			if n != len(entry.Resources) {
				t.Errorf("%d files on disk, %d listed", n, len(entry.Resources))
			}
			// A folder lists its children, subfolders as directories.
			raw, rpcErr := rawRequest(t, c, 9002, "resources/directory/read", map[string]any{"uri": "skill://" + name})
			if rpcErr != nil {
				t.Fatalf("directory read: %+v", rpcErr)
			}
			var dirRes struct {
				Resources []mcp.Resource `json:"resources"`
			}
			json.Unmarshal(raw, &dirRes)
			entries, _ := os.ReadDir(dir)
			if len(dirRes.Resources) != len(entries) {
				t.Errorf("directory read lists %d children, the folder has %d", len(dirRes.Resources), len(entries))
			}
			for _, r := range dirRes.Resources {
				fi, err := os.Stat(filepath.Join(dir, strings.TrimSuffix(strings.TrimPrefix(r.URI, "skill://"+name+"/"), "/")))
				if err != nil || fi.IsDir() != (r.MIMEType == "inode/directory") {
					t.Errorf("child %s (%s): %v", r.URI, r.MIMEType, err)
				}
			}
		})
	}
	// Paths out of a skill are refused.
	for _, uri := range []string{"skill://leaky/passwd", "skill://leaky/etc/passwd", "skill://mcp-builder/../theme-factory/SKILL.md", "skill://mcp-builder/%2e%2e/x", "skill://nope/SKILL.md", "skill://mcp-builder/.hidden"} {
		var read mcp.ReadResourceRequest
		read.Params.URI = uri
		if _, err := c.ReadResource(ctx, read); err == nil {
			t.Errorf("read %s succeeded", uri)
		}
	}
	if _, rpcErr := rawRequest(t, c, 9003, "skills/get", map[string]any{"uri": "skill://nope/SKILL.md"}); rpcErr == nil || rpcErr.Code != mcp.INVALID_PARAMS {
		t.Errorf("skills/get of an unknown skill: %+v", rpcErr)
	}
}
