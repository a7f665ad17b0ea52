package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"customconversions.dev/shared/store"
)

func TestClientCommands(t *testing.T) {
	c := newCLI(t)
	create := []string{"client", "create", "acme", "--name", "Acme Ltd", "--currency", "gbp",
		"--time-zone", "Europe/London", "--bigquery-project", "acme-analytics",
		"--dataset", "attribution"}
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"create", create, exitOK,
			[]string{"client acme created", "default_currency:    GBP"}, ""},
		{"create again", create, exitFailed, nil, "exists already: change it with ccctl client update"},
		{"create with a bad currency", []string{"client", "create", "bolt", "--currency", "XYZ",
			"--time-zone", "UTC", "--bigquery-project", "bolt-data", "--dataset", "attr"},
			exitUsage, nil, `default_currency "XYZ" is not an ISO 4217 code`},
		{"show the refused one", []string{"client", "show", "bolt"}, exitFailed, nil,
			"no client bolt in project"},
		{"show", []string{"client", "show", "acme"}, exitOK,
			[]string{"display_name:        Acme Ltd", "time_zone:           Europe/London"}, ""},
		{"update the currency", []string{"client", "update", "acme", "--currency", "EUR"}, exitOK,
			[]string{"client acme updated", `default_currency: "GBP" -> "EUR"`}, ""},
		{"update to a bad currency", []string{"client", "update", "acme", "--currency", "EURO"},
			exitUsage, nil, `default_currency "EURO"`},
		{"update with no change", []string{"client", "update", "acme", "--plan", "enterprise"},
			exitOK, []string{"client acme: no change"}, ""},
		{"update the plan", []string{"client", "update", "acme", "--plan", "basic"}, exitOK,
			[]string{`plan: "enterprise" -> "basic"`}, "will be skipped"},
		{"update a missing client", []string{"client", "update", "nope", "--plan", "basic"},
			exitFailed, nil, "no client nope"},
		{"list", []string{"client", "list"}, exitOK,
			[]string{"CLIENT", "acme", "Acme Ltd", "basic", "EUR", "acme-analytics.attribution",
				c.env.Client.ID}, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := c.run(s.args...)
			if s.stderr == "" {
				r.want(t, s.code, s.stdout)
			} else {
				r.want(t, s.code, s.stdout, s.stderr)
			}
		})
	}

	ctx := context.Background()
	got, err := c.env.Store.Client(ctx, "acme")
	want := store.Client{ID: "acme", DisplayName: "Acme Ltd", Plan: "basic",
		Project: "acme-analytics", Dataset: "attribution", Currency: "EUR",
		TimeZone: "Europe/London", Enabled: true}
	if err != nil || got != want {
		t.Errorf("stored client = %+v, %v; want %+v", got, err, want)
	}
	if _, err := c.env.Store.Client(ctx, "bolt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused client bolt: read gives %v; want not found", err)
	}

	r := c.run("--json", "client", "show", "acme")
	var shown store.Client
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown != want {
		t.Errorf("client show --json = %+v, %v; want %+v\n%s", shown, err, want, r.stdout)
	}
}
