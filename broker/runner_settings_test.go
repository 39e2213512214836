package broker

import (
	"context"
	"encoding/json"
	"testing"
)

func TestRunSendsTheSkillsSettingsInTheCallLine(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	c := fixtureCall(t, "echo", nil)
	c.Settings = json.RawMessage(`{"base_url":"http://127.0.0.1:1234/v1","models":["a"]}`)
	res, err := r.Run(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Call struct {
			Settings map[string]any `json:"settings"`
		} `json:"call"`
	}
	decode(t, res, &got)
	if got.Call.Settings["base_url"] != "http://127.0.0.1:1234/v1" {
		t.Fatalf("settings in the call line = %v", got.Call.Settings)
	}

	res, err = r.Run(context.Background(), fixtureCall(t, "echo", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var bare struct {
		Call map[string]any `json:"call"`
	}
	decode(t, res, &bare)
	if _, ok := bare.Call["settings"]; ok {
		t.Fatalf("a call without settings sent %v", bare.Call["settings"])
	}
}
