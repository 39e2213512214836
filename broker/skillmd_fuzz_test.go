package broker

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseSkillMD feeds arbitrary SKILL.md files to the frontmatter parser:
// it never panics, and what it accepts holds what the standard requires (a
// description of at most 1024 characters) and
// only permissions the engine knows; a name other than the folder's is
// never accepted (the seeds hold one).
func FuzzParseSkillMD(f *testing.F) {
	for _, seed := range []string{
		"---\nname: demo\ndescription: d\n---\nbody\n",
		"---\nname: demo\ndescription: Read pages.\nallowed-tools: http(*) graph(read write) secrets(openai) Bash(git:*) Read\n---\n# Guide\n",
		"---\nname: demo\ndescription: d\nmetadata:\n  author: me\nlicense: MIT\ncompatibility: python3\n---\n",
		"---\nname: [demo\n---\n",
		"---\r\nname: demo\r\ndescription: d\r\n---\r\n",
		"no frontmatter",
		"---\nname: demo\ndescription: " + strings.Repeat("é", 1025) + "\n---\n",
		"---\n---\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Skill{ID: "demo"}
		if err := parseSkillMD(s, data); err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if strings.TrimSpace(s.Description) == "" || utf8.RuneCountInString(s.Description) > 1024 {
			t.Fatalf("accepted description of %d characters", utf8.RuneCountInString(s.Description))
		}
		for op := range s.Permissions {
			if !knownOps[op] {
				t.Fatalf("accepted unknown engine op %q", op)
			}
		}
	})
}
