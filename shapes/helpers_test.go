package shapes

import (
	"os"
	"path/filepath"
	"testing"
)

// writeFiles creates a folder holding the given files (name → content).
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sampleFields declares one field of every type; the sample shapes below
// use it twice, once lenient and once strict.
const sampleFields = `
  fields:
    s: string
    t: text
    i: integer
    n: number
    b: boolean
    d: datetime
    u: url
    j: json
    e: {enum: [red, green]}
    tags: string[]
    nums: integer[]
  relations:
    owner: person
    members: person[]
`

// sampleRegistry loads the defaults plus "sample" (lenient) and
// "rigid" (strict) shapes with every field type, failing on any load error.
func sampleRegistry(t *testing.T) *Registry {
	t.Helper()
	dir := writeFiles(t, map[string]string{
		"sample.yaml": "sample:" + sampleFields + "rigid:\n  strict: true" + sampleFields,
	})
	r, errs := Load(dir)
	for _, err := range errs {
		t.Errorf("unexpected load error: %v", err)
	}
	return r
}
