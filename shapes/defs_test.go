package shapes

import (
	"reflect"
	"testing"
)

func TestDefaultShapesLoadCleanly(t *testing.T) {
	r, errs := Load()
	for _, err := range errs {
		t.Errorf("load error: %v", err)
	}
	want := []string{"account", "event", "feed", "file", "item", "message", "note", "organization",
		"person", "place", "post", "project", "tag", "task", "webpage"}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			s, ok := r.Get(name)
			if !ok {
				t.Fatalf("default shape %s is missing", name)
			}
			if s.Description == "" || s.Plural == "" {
				t.Errorf("%s lacks a description or plural", name)
			}
			if s.Source != "embedded:defs/"+name+".yaml" {
				t.Errorf("Source = %q", s.Source)
			}
			for _, f := range standardFields() {
				if _, ok := s.Fields[f.Name]; !ok {
					t.Errorf("%s lacks standard field %s", name, f.Name)
				}
			}
			for _, rel := range s.Relations {
				if _, ok := r.Get(rel.Shape); !ok {
					t.Errorf("%s.%s points to missing shape %s", name, rel.Name, rel.Shape)
				}
			}
			// Every default but the generic parent says how to recognise the same thing twice.
			if name != "item" && len(s.Identity)+len(s.IdentityAny) == 0 {
				t.Errorf("%s has no identity rule", name)
			}
		})
	}
}

func TestDefaultTaskShape(t *testing.T) {
	r, _ := Load()
	task, ok := r.Get("task")
	if !ok {
		t.Fatal("no task shape")
	}
	wantFields := map[string]Field{
		"title":     {Name: "title", Type: TypeString},
		"done":      {Name: "done", Type: TypeBoolean},
		"priority":  {Name: "priority", Type: TypeInteger},
		"due":       {Name: "due", Type: TypeDatetime},
		"tags":      {Name: "tags", Type: TypeString, Array: true},
		"status":    {Name: "status", Type: TypeEnum, Enum: []string{"todo", "doing", "done"}},
		"name":      {Name: "name", Type: TypeText},
		"url":       {Name: "url", Type: TypeURL},
		"image":     {Name: "image", Type: TypeURL},
		"published": {Name: "published", Type: TypeDatetime},
		"content":   {Name: "content", Type: TypeText},
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"fields are the declared plus the standard ones", task.Fields, wantFields},
		{"relations", task.Relations, map[string]Relation{
			"project":   {Name: "project", Shape: "project"},
			"assignees": {Name: "assignees", Shape: "person", Many: true},
		}},
		{"identity is title and project", task.Identity, []string{"title", "project"}},
		{"no identity_any", task.IdentityAny, []string(nil)},
		{"also item", task.Also, []string{"item"}},
		{"display", task.Display, map[string]string{"title": "title", "subtitle": "due"}},
		{"plural", task.Plural, "tasks"},
		{"not strict", task.Strict, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}
