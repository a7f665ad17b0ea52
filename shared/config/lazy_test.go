package config

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestLazyRetriesAfterFailure(t *testing.T) {
	calls := 0
	l := Lazy[int]{New: func(context.Context) (int, error) {
		calls++
		if calls == 1 {
			return 0, errors.New("outage")
		}
		return 42, nil
	}}
	ctx := context.Background()
	if _, err := l.Get(ctx); err == nil {
		t.Fatal("first Get succeeded; want the build's error")
	}
	for range 2 {
		if v, err := l.Get(ctx); v != 42 || err != nil {
			t.Fatalf("Get = %d, %v; want 42, nil", v, err)
		}
	}
	if calls != 2 {
		t.Errorf("New called %d times; want 2 (once failing, once succeeding, then kept)", calls)
	}
}

func TestParse(t *testing.T) {
	env := map[string]string{EnvProject: "my-project", EnvRejectThreshold: "0.1", EnvPriority: "batch"}
	c, err := Parse(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Project != "my-project" || c.RejectThreshold != 0.1 || !c.Batch ||
		c.StagingDataset != "cc_staging" || c.Location != "US" {
		t.Errorf("Parse = %+v; want project my-project, threshold 0.1, batch, cc_staging, US", c)
	}

	bad := map[string]string{EnvRejectThreshold: "5%", EnvPriority: "urgent", EnvStagingDataset: "a.b"}
	_, err = Parse(func(k string) string { return bad[k] })
	for _, want := range []string{EnvProject + " is not set", EnvRejectThreshold + `="5%"`,
		EnvPriority + `="urgent"`, EnvStagingDataset + `="a.b"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(bad) = %v; want it to mention %q", err, want)
		}
	}
}
