package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"

	"github.com/agentos/agentos/graph"
)

func TestEveryCommandHasHelp(t *testing.T) {
	home := testkit.Home(t)
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			r := agentos(t, home, c.name, "--help")
			if r.code != 0 || !strings.Contains(r.stdout, "Usage: agentos "+c.name) {
				t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
	if r := agentos(t, home, "--help"); r.code != 0 || !strings.Contains(r.stdout, "Commands:") {
		t.Fatalf("top-level help: %+v", r)
	}
}

func TestUsageErrorsExit64(t *testing.T) {
	home := testkit.Home(t)
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"read"},
		{"call"},
		{"call", "system.ping", "{not json"},
		{"status", "--bogus"},
		{"shapes", "show"},
		{"read", "task", "--where", "novalue"},
	} {
		r := agentos(t, home, args...)
		if r.code != exitUsage {
			t.Errorf("agentos %v: code %d, want %d (stderr %q)", args, r.code, exitUsage, r.stderr)
		}
		if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 && len(args) > 0 {
			t.Errorf("agentos %v: error is not one line: %q", args, r.stderr)
		}
	}
}

func TestCommandsWithoutAnEngineExit2(t *testing.T) {
	home := testkit.Home(t)
	for _, args := range [][]string{{"status"}, {"call", "system.ping"}, {"read", "task"}, {"search", "x"}, {"shapes", "list"}, {"stop"}} {
		r := agentos(t, home, args...)
		if r.code != exitUnreachable || !strings.Contains(r.stderr, "agentos start") {
			t.Errorf("agentos %v: code %d stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestCLIReadsWritesAndSearchesTheGraph(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)

	r := agentos(t, home, "call", "data.create", `{"shape":"task","fields":{"title":"Write the quarterly report","priority":"2","due":"2026-12-01"}}`)
	if r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	var n graph.Node
	if err := json.Unmarshal([]byte(r.stdout), &n); err != nil || n.ID == "" {
		t.Fatalf("create output %q: %v", r.stdout, err)
	}
	if n.Fields["priority"] != float64(2) {
		t.Fatalf("priority not coerced: %v", n.Fields)
	}
	// Params from stdin, flags after arguments.
	r = agentosStdin(t, home, `{"id":"`+n.ID+`"}`, "call", "data.read", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "quarterly report") {
		t.Fatalf("call from stdin: %+v", r)
	}

	r = agentos(t, home, "read", n.ID)
	if r.code != 0 || !strings.Contains(r.stdout, "Write the quarterly report") || !strings.Contains(r.stdout, "task") {
		t.Fatalf("read id: %+v", r)
	}
	r = agentos(t, home, "read", "task", "--where", "priority=2")
	if r.code != 0 || !strings.Contains(r.stdout, n.ID) || !strings.Contains(r.stdout, "TITLE") {
		t.Fatalf("read shape table: %+v", r)
	}
	r = agentos(t, home, "read", "task", "--json", "--where", "priority=3")
	if r.code != 0 || strings.Contains(r.stdout, n.ID) {
		t.Fatalf("filtered read should not match: %+v", r)
	}
	r = agentos(t, home, "search", "quarterly")
	if r.code != 0 || !strings.Contains(r.stdout, n.ID) {
		t.Fatalf("search: %+v", r)
	}
	r = agentos(t, home, "search", "--json", "quarterly")
	var hits struct {
		Hits []graph.Hit `json:"hits"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &hits) != nil || len(hits.Hits) != 1 || hits.Hits[0].Node.ID != n.ID {
		t.Fatalf("search --json: %+v", r)
	}
	r = agentos(t, home, "read", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	if r.code != exitError || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "not_found") {
		t.Fatalf("read missing: %+v", r)
	}
}

func TestShapesListAndShow(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	r := agentos(t, home, "shapes", "list")
	for _, want := range []string{"person", "organization", "account", "note", "task", "project", "event", "message", "webpage", "post", "file", "tag"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("shapes list lacks %s", want)
		}
	}
	r = agentos(t, home, "shapes", "show", "task")
	for _, want := range []string{"title", "priority", "integer", "done", "boolean", "due", "datetime", "-> project", "title+project"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("shapes show task lacks %q:\n%s", want, r.stdout)
		}
	}
	r = agentos(t, home, "shapes", "show", "--json", "webpage")
	if !strings.Contains(r.stdout, `"identity": [`) || !strings.Contains(r.stdout, `"url"`) {
		t.Errorf("webpage json: %s", r.stdout)
	}
	if r := agentos(t, home, "shapes", "show", "nosuch"); r.code != exitError {
		t.Errorf("unknown shape: %+v", r)
	}
}

func TestUserShapesLoadAndABrokenFileIsReportedNotFatal(t *testing.T) {
	home := testkit.Home(t)
	if err := os.MkdirAll(home+"/shapes", 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(home+"/shapes/recipe.yaml", []byte("recipe:\n  identity: [name]\n  fields:\n    servings: integer\n"), 0o600)
	os.WriteFile(home+"/shapes/broken.yaml", []byte("broken:\n  fields:\n    a: [unclosed\n"), 0o600)
	d := startDaemon(t, home)
	if r := agentos(t, home, "shapes", "show", "recipe"); r.code != 0 || !strings.Contains(r.stdout, "servings") {
		t.Fatalf("user shape not loaded: %+v", r)
	}
	b, _ := os.ReadFile(home + "/logs/engine.log")
	if !regexp.MustCompile(`broken\.yaml:[1-9][0-9]*: `).Match(b) {
		t.Fatalf("log does not name the broken file with its line:\n%s", b)
	}
	_ = d
}

func TestWatchPrintsEventsForWrites(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "watch", "--json")
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	lines := bufio.NewScanner(out)
	// Keep writing until watch is surely subscribed and shows one. (Not
	// through agentos(t, ...): this goroutine may outlive the test.)
	go func() {
		for ctx.Err() == nil {
			w := exec.CommandContext(ctx, binPath, "call", "data.create", `{"shape":"note","fields":{"name":"watched"}}`)
			w.Env = cmd.Env
			w.Run()
			time.Sleep(200 * time.Millisecond)
		}
	}()
	for lines.Scan() {
		var ev struct {
			Type, Op string
			Shapes   []string
		}
		if json.Unmarshal(lines.Bytes(), &ev) == nil && ev.Type == "graph.changed" && len(ev.Shapes) > 0 {
			return
		}
	}
	t.Fatal("watch ended without a graph.changed event")
}

func TestVersionPrintsJSONOnRequest(t *testing.T) {
	r := agentos(t, testkit.Home(t), "version", "--json")
	var v struct{ Version string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil || v.Version == "" {
		t.Fatalf("version --json: %+v", r)
	}
}

// --version, help CMD, and --json on stop and prefer, as a newcomer tries them.
func TestVersionHelpAndJSONOnStopAndPrefer(t *testing.T) {
	home := testkit.Home(t)
	if r := agentos(t, home, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "agentos ") {
		t.Fatalf("--version: %+v", r)
	}
	if r := agentos(t, home, "help", "stop"); r.code != 0 || !strings.Contains(r.stdout, "Usage: agentos stop") {
		t.Fatalf("help stop: %+v", r)
	}
	startDaemon(t, home)
	var pin struct{ Capability, Pin string }
	r := agentos(t, home, "prefer", "--json", "web.read", "web-reader")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &pin) != nil || pin.Pin != "web-reader" {
		t.Fatalf("prefer --json: %+v", r)
	}
	var stopped struct {
		Stopped bool
		PID     int
	}
	r = agentos(t, home, "stop", "--json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &stopped) != nil || !stopped.Stopped || stopped.PID == 0 {
		t.Fatalf("stop --json: %+v", r)
	}
}

func TestWatchSinceZeroReplaysEarlierEvents(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	if r := agentos(t, home, "call", "data.create", `{"shape":"note","fields":{"name":"before watch"}}`); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "watch", "--since", "0")
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	out, _ := cmd.Output() // ends when ctx kills it
	text := string(out)
	if !strings.Contains(text, "graph.changed") || !strings.Contains(text, "data.create by=cli") {
		t.Fatalf("watch --since 0 did not replay the earlier write:\n%s", text)
	}
	if strings.Contains(text, "lagged") {
		t.Fatalf("nothing was lost, yet watch reports a gap:\n%s", text)
	}
	// The change names the call that made it.
	var call string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "started") && strings.Contains(line, "data.create") {
			for _, f := range strings.Fields(line) {
				if strings.HasPrefix(f, "call=") {
					call = f
				}
			}
		}
	}
	if call == "" || !regexp.MustCompile(`graph\.changed.* `+call+`( |$)`).MatchString(text) {
		t.Fatalf("the graph change does not name its call (%q):\n%s", call, text)
	}
}

// read's more: hint is the same query's next page, filter, order and limit
// kept, and running it lists that query's next rows only.
func TestReadMoreHintKeepsTheQuery(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	for i, status := range []string{"todo", "done", "todo", "done", "todo", "todo"} {
		if r := agentos(t, home, "call", "data.create", fmt.Sprintf(`{"shape":"task","fields":{"title":"t%d","status":%q}}`, i, status)); r.code != 0 {
			t.Fatalf("create: %+v", r)
		}
	}
	r := agentos(t, home, "read", "task", "--where", "status=todo", "--limit", "2")
	i := strings.Index(r.stderr, "more: agentos ")
	if r.code != 0 || i < 0 || !strings.Contains(r.stderr, "--where status=todo --limit 2 --cursor ") {
		t.Fatalf("first page: %+v", r)
	}
	args := strings.Fields(strings.TrimSpace(r.stderr[i+len("more: agentos "):]))
	r = agentos(t, home, args...)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 || strings.Contains(r.stdout, "t1") || strings.Contains(r.stdout, "t3") {
		t.Fatalf("the hinted page: %+v", r)
	}
	// The cursor with another filter is refused, not misread.
	cursor := args[len(args)-1]
	if r := agentos(t, home, "read", "task", "--limit", "2", "--cursor", cursor); r.code == 0 || !strings.Contains(r.stderr, "cursor is not valid for this query") {
		t.Fatalf("the cursor without its filter: %+v", r)
	}
}

// read ID names the nodes at the other end of its edges, not bare ids.
func TestReadIDShowsEdgeTargetsByTitle(t *testing.T) {
	home := testkit.Home(t)
	c := startDaemon(t, home).client(t)
	var project, task struct{ ID string }
	call(t, c, "data.create", map[string]any{"shape": "project", "fields": map[string]any{"name": "Garden planner"}}, &project)
	call(t, c, "data.create", map[string]any{"shape": "task", "fields": map[string]any{"title": "Sow tomatoes", "project": project.ID}}, &task)
	r := agentos(t, home, "read", task.ID)
	if r.code != 0 || !strings.Contains(r.stdout, "Garden planner (project)  "+project.ID) {
		t.Fatalf("read task: %+v", r)
	}
	r = agentos(t, home, "read", project.ID)
	if r.code != 0 || !strings.Contains(r.stdout, "Sow tomatoes (task)") {
		t.Fatalf("read project: %+v", r)
	}
	// An id pasted in lower case is still an id, not a shape name.
	if r := agentos(t, home, "read", strings.ToLower(task.ID)); r.code != 0 || !strings.Contains(r.stdout, "Sow tomatoes") {
		t.Fatalf("read lower-cased id: %+v", r)
	}
}

// The write verbs of DESIGN §3, as a person types them.
func TestWriteVerbs(t *testing.T) {
	home := testkit.Home(t)
	c := startDaemon(t, home).client(t)
	id := func(r result) string {
		t.Helper()
		var n struct{ ID string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &n) != nil || n.ID == "" {
			t.Fatalf("write: %+v", r)
		}
		return n.ID
	}
	task := id(agentos(t, home, "create", "--json", "task", `title=File taxes`, "due=2027-04-15", "priority=2"))
	project := id(agentos(t, home, "create", "--json", "project", `{"name": "Paperwork"}`))
	var node struct{ Fields map[string]any }
	call(t, c, wire.MethodRead, map[string]any{"id": task}, &node)
	if node.Fields["title"] != "File taxes" || node.Fields["priority"] != float64(2) || !strings.HasPrefix(fmt.Sprint(node.Fields["due"]), "2027-04-15") {
		t.Fatalf("created task: %+v", node.Fields)
	}
	if r := agentos(t, home, "update", task, "priority=null", "title=File the taxes"); r.code != 0 || !strings.Contains(r.stdout, "updated task "+task+" File the taxes") {
		t.Fatalf("update: %+v", r)
	}
	if r := agentos(t, home, "link", task, "project", project); r.code != 0 {
		t.Fatalf("link: %+v", r)
	}
	if r := agentos(t, home, "read", task); !strings.Contains(r.stdout, "Paperwork (project)") || strings.Contains(r.stdout, "priority") {
		t.Fatalf("read after update and link: %+v", r)
	}
	if r := agentos(t, home, "unlink", task, "project", project); r.code != 0 {
		t.Fatalf("unlink: %+v", r)
	}
	if r := agentos(t, home, "delete", task); r.code != 0 || !strings.Contains(r.stdout, "deleted task") {
		t.Fatalf("delete: %+v", r)
	}
	if r := agentos(t, home, "read", "task"); strings.Contains(r.stdout, task) {
		t.Fatalf("a deleted task is listed: %+v", r)
	}
	if r := agentos(t, home, "restore", task); r.code != 0 || !strings.Contains(r.stdout, "restored task") {
		t.Fatalf("restore: %+v", r)
	}
	if r := agentos(t, home, "read", task); strings.Contains(r.stdout, "Paperwork") || strings.Contains(r.stdout, "deleted") {
		t.Fatalf("read after unlink and restore: %+v", r)
	}
	if r := agentos(t, home, "create", "task", "no-equals-sign"); r.code != exitUsage || !strings.Contains(r.stderr, "key=value") {
		t.Fatalf("a bad field: %+v", r)
	}
}

// The CLI shows times one way: a date without a time as that date, whatever
// the time zone; a time as local time.
func TestCLIShowsDatesAsDatesAndTimesAsLocal(t *testing.T) {
	home := testkit.Home(t)
	c := startDaemon(t, home).client(t)
	var task struct{ ID string }
	call(t, c, "data.create", map[string]any{"shape": "task", "fields": map[string]any{"title": "Taxes", "due": "2027-04-15"}}, &task)
	cmd := exec.Command(binPath, "read", task.ID)
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home, "TZ=America/Los_Angeles")
	out, err := cmd.Output()
	if err != nil || !regexp.MustCompile(`due\s+2027-04-15\n`).Match(out) {
		t.Fatalf("read in Los Angeles: %v\n%s", err, out)
	}
}

// The metadata reads clients make to find their way (an MCP proxy makes them
// on every session) stay out of the activity feed; a data call does not.
func TestHousekeepingCallsDoNotFloodTheActivityFeed(t *testing.T) {
	home := testkit.Home(t)
	c := startDaemon(t, home).client(t)
	for _, m := range []string{"system.schema", "shapes.list", "skills.list"} {
		call(t, c, m, nil, nil)
	}
	call(t, c, "shapes.get", map[string]any{"name": "task"}, nil)
	call(t, c, "skills.get", map[string]any{"id": "web-reader"}, nil)
	call(t, c, "data.read", map[string]any{"shape": "task"}, nil)
	var hist struct {
		Events []struct{ Type, Method string }
	}
	call(t, c, "observer.history", map[string]any{"since": 0}, &hist)
	var methods []string
	for _, ev := range hist.Events {
		if ev.Type == "started" {
			methods = append(methods, ev.Method)
		}
	}
	if !slices.Equal(methods, []string{"data.read"}) {
		t.Errorf("started events for %v, want only data.read", methods)
	}
}

// A typo in --where or --order warns with a did-you-mean, as a write does,
// instead of reading as an empty page.
func TestReadWarnsOfUnknownWhereAndOrderKeys(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	r := agentos(t, home, "read", "task", "--where", "statsu=todo", "--order", "-priorty")
	if r.code != 0 || !strings.Contains(r.stderr, `task.statsu is not a field of task (did you mean "status"?)`) ||
		!strings.Contains(r.stderr, `task.priorty is not a field of task (did you mean "priority"?)`) {
		t.Fatalf("read with typos: %+v", r)
	}
	if r := agentos(t, home, "read", "task", "--where", "status=todo", "--order", "-priority"); strings.Contains(r.stderr, "warning") {
		t.Fatalf("read without typos warned: %+v", r)
	}
}

// Ctrl-C on a long invoke cancels its job and exits 130; with stderr not a
// terminal, no spinner or escape code is written to it.
func TestInvokeInterruptedExits130WithoutEscapeCodesOffATerminal(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	c := startDaemon(t, home).client(t)
	marker := testkit.SkillDir(home, "hanger")
	cmd := exec.Command(binPath, "invoke", "hang", `{"marker": "`+marker+`"}`)
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.WaitMarked(t, marker, 2)
	time.Sleep(1500 * time.Millisecond) // past the spinner's first second
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(stderr.String(), "interrupted") || strings.Contains(stderr.String(), "\x1b[") {
		t.Fatalf("invoke after Ctrl-C: %v, stderr %q", err, stderr.String())
	}
	testkit.WaitNoneMarked(t, marker, "the interrupted invoke")
	var jobs struct{ Jobs []wire.Job }
	call(t, c, "jobs.list", nil, &jobs)
	for _, j := range jobs.Jobs {
		if j.Capability == "hang" && j.State != wire.JobCancelled {
			t.Errorf("the invoke's job is %s, want cancelled", j.State)
		}
	}
}

// On a terminal, a long invoke draws a spinner with the elapsed time and
// its job id, rewritten in place, and clears it when Ctrl-C ends it (130).
func TestInvokeDrawsASpinnerOnATerminal(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	startDaemon(t, home)
	marker := testkit.SkillDir(home, "hanger")
	master, tty := openPTY(t)
	cmd := exec.Command(binPath, "invoke", "hang", `{"marker": "`+marker+`"}`)
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	cmd.Stderr = tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The terminal's output, read as it comes until the command ends.
	var mu sync.Mutex
	var screen strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func() string { mu.Lock(); defer mu.Unlock(); return screen.String() }
	testkit.WaitMarked(t, marker, 2)
	spinner := regexp.MustCompile(`\r\x1b\[K. (\d+\.\d)s [^\r]*?\(job (j\d+), Ctrl-C cancels\)`)
	deadline := time.Now().Add(10 * time.Second)
	for len(spinner.FindAllString(seen(), -1)) < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	frames := spinner.FindAllStringSubmatch(seen(), -1)
	if len(frames) < 3 {
		t.Fatalf("no spinner on the terminal after 10 s: %q", seen())
	}
	first, _ := strconv.ParseFloat(frames[0][1], 64)
	last, _ := strconv.ParseFloat(frames[len(frames)-1][1], 64)
	if last <= first {
		t.Errorf("the elapsed time does not move: %v then %v", first, last)
	}
	if !strings.Contains(frames[len(frames)-1][0], "50% started") {
		t.Errorf("the skill's progress is not on the spinner's line: %q", frames[len(frames)-1][0])
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("invoke after Ctrl-C: %v", err)
	}
	// The spinner's line was cleared before the message was written.
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(seen(), "interrupted") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := seen()
	end := strings.LastIndex(out, "interrupted")
	if end < 0 || !strings.Contains(out[strings.LastIndex(out[:end], "Ctrl-C cancels)"):end], "\r\x1b[K") {
		t.Errorf("the spinner was not cleared before the message: %q", out)
	}
	testkit.WaitNoneMarked(t, marker, "the interrupted invoke")
}

// agentos completion bash is a script bash runs, completing commands,
// subcommands, and the running engine's shapes for read.
func TestCompletionScripts(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	r := agentos(t, home, "completion", "bash")
	if r.code != 0 {
		t.Fatalf("completion bash: %+v", r)
	}
	script := filepath.Join(t.TempDir(), "agentos.bash")
	if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		cmd := exec.Command("bash", "-c", fmt.Sprintf(`source %q; COMP_WORDS=(%s); COMP_CWORD=%d; _agentos; echo "${COMPREPLY[*]}"`,
			script, strings.Join(words, " "), len(words)-1))
		cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home, "PATH="+filepath.Dir(binPath)+":"+os.Getenv("PATH"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bash: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := complete("agentos", "sk"); got != "skills" {
		t.Errorf("agentos sk<TAB>: %q", got)
	}
	if got := complete("agentos", "skills", "in"); got != "install" {
		t.Errorf("agentos skills in<TAB>: %q", got)
	}
	if got := complete("agentos", "read", "tas"); got != "task" {
		t.Errorf("agentos read tas<TAB>: %q", got)
	}
	for _, shell := range []string{"zsh", "fish"} {
		if r := agentos(t, home, "completion", shell); r.code != 0 || !strings.Contains(r.stdout, "agentos") {
			t.Errorf("completion %s: %+v", shell, r)
		}
	}
	if r := agentos(t, home, "completion", "tcsh"); r.code != exitUsage {
		t.Errorf("completion tcsh: %+v", r)
	}
}

// Flag errors name the flag as --help shows it and say what was wrong.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	home := testkit.Home(t)
	for args, want := range map[string]string{
		"read task --where bad": `read: --where "bad": want key=value`,
		"read task --limt 3":    `unknown flag --limt (did you mean --limit?)`,
		"read task --limit x":   `--limit "x": not a whole number`,
		"read task --where":     `--where needs a value`,
	} {
		r := agentos(t, home, strings.Fields(args)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, " -limit") {
			t.Errorf("agentos %s: %+v, want %q", args, r, want)
		}
	}
}

// A user's shape file is picked up without a restart, and a bad one is shown
// by shapes list and status, not only written to the log.
func TestUserShapesReloadAndTheirErrorsAreShown(t *testing.T) {
	home := testkit.Home(t)
	c := startDaemon(t, home).client(t)
	dir := filepath.Join(home, "shapes")
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "recipe.yaml"), []byte("recipe:\n  identity: [name]\n  fields:\n    servings: integer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("broken:\n  fields:\n    x: intgr\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var sh map[string]any
		if c.Call(context.Background(), "shapes.get", map[string]any{"name": "recipe"}, &sh) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a new shape file was not loaded without a restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := agentos(t, home, "shapes", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "recipe") || !strings.Contains(r.stderr, "skipped:") || !strings.Contains(r.stderr, "broken.yaml") {
		t.Fatalf("shapes list: %+v", r)
	}
	if r := agentos(t, home, "status"); !strings.Contains(r.stdout, "shape skipped") || !strings.Contains(r.stdout, "broken.yaml") {
		t.Fatalf("status: %+v", r)
	}
}
