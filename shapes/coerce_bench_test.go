package shapes

import "testing"

func BenchmarkCoerceTask(b *testing.B) {
	r, _ := Load()
	fields := map[string]any{
		"title": "Write report", "priority": 2.0, "done": false, "due": "2024-05-01T09:30:00Z",
		"tags": []any{"work", "q2"}, "status": "todo", "project": "n_1",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Coerce("task", fields); err != nil {
			b.Fatal(err)
		}
	}
}
