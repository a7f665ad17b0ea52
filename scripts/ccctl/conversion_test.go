package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
)

// referenceSQL is DESIGN.md's reference definition on table.
func referenceSQL(table string) string {
	return `SELECT id, userId AS client_id, createdAt AS created,
  orderValue AS value, 'GBP' AS currency,
  IF(orderStatus IN ('confirmed', 'paid'), TRUE, FALSE) AS is_qualified,
  ARRAY(SELECT AS STRUCT * FROM UNNEST(properties)
        WHERE key IN ('country', 'region', 'city')) AS params
FROM ` + table + `
WHERE DATE(createdAt) BETWEEN DATE_SUB(@start_date, INTERVAL 30 DAY)
  AND @end_date`
}

// writeFile writes s to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestApply(t *testing.T) {
	c := newCLI(t)
	testkit.LoadOrders(t, c.env.Dataset, "orders", nil)
	client := c.env.Client.ID
	dir := t.TempDir()
	sql := referenceSQL(c.env.Table("orders"))
	writeFile(t, dir, "orders.sql", sql+"\n")
	good := writeFile(t, dir, "orders.yaml", "id: orders\nname: Paid orders\nsql_file: orders.sql\n")
	misspelt := writeFile(t, dir, "misspelt.yaml", "id: orders\nname: Paid orders\nsql: |\n"+
		indent(strings.Replace(sql, "createdAt AS created", "createdAt AS creatd", 1), "  ")+"\n")
	badSource := writeFile(t, dir, "badsource.yaml", "id: orders\nsql: |\n"+
		indent(strings.Replace(sql, "orderValue AS value", "orderValu AS value", 1), "  ")+"\n")
	newSQL := strings.Replace(sql, "'paid'", "'paid', 'shipped'", 1)
	changed := writeFile(t, dir, "changed.yaml", "id: orders\nname: Paid orders\nsql: |\n"+
		indent(newSQL, "  ")+"\n")

	steps := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"check", []string{"conversion", "check", good}, exitOK,
			[]string{"conversion orders passes its checks", "created:      TIMESTAMP",
				"value:        FLOAT64", "user_id:      (absent)"}, nil},
		{"check a misspelt column", []string{"conversion", "check", misspelt}, exitCheck, nil,
			[]string{"column creatd is not in the output contract (did you mean created?",
				"column created is missing"}},
		{"apply a misspelt column", []string{"conversion", "apply", misspelt, "--client", client},
			exitCheck, nil, []string{"conversion orders not applied", "did you mean created?"}},
		{"apply a misspelt source column", []string{"conversion", "apply", badSource,
			"--client", client}, exitCheck, nil, []string{"BigQuery refused the SQL", "orderValu"}},
		{"apply", []string{"conversion", "apply", good, "--client", client}, exitOK,
			[]string{"conversion orders of client " + client + " created by tester",
				"name:    Paid orders", "hash:    " + contract.Hash(sql),
				"+++ " + good, "+SELECT id, userId AS client_id"}, nil},
		{"apply unchanged", []string{"conversion", "apply", good, "--client", client}, exitOK,
			[]string{"conversion orders of client " + client + ": no change (hash " +
				contract.Hash(sql) + ")"}, nil},
		{"apply the misspelt one over it", []string{"conversion", "apply", misspelt,
			"--client", client}, exitCheck, nil, []string{"did you mean created?"}},
		{"apply to a missing client", []string{"conversion", "apply", good, "--client", "nope"},
			exitFailed, nil, []string{"no client nope"}},
		{"apply a change", []string{"conversion", "apply", changed, "--client", client,
			"--author", "ana"}, exitOK,
			[]string{"updated by ana", "--- stored\n+++ " + changed,
				"-  IF(orderStatus IN ('confirmed', 'paid'), TRUE, FALSE) AS is_qualified,\n" +
					"+  IF(orderStatus IN ('confirmed', 'paid', 'shipped'), TRUE, FALSE) AS is_qualified,",
				"\n   ARRAY(SELECT AS STRUCT"}, nil},
		{"list", []string{"conversion", "list", "--client", client}, exitOK,
			[]string{"CONVERSION", "orders", "Paid orders", "yes", contract.Hash(newSQL), "ana"}, nil},
		{"show", []string{"conversion", "show", "--client", client, "orders"}, exitOK,
			[]string{"author:  ana", "sql:\n  SELECT id, userId AS client_id"}, nil},
		{"disable", []string{"conversion", "disable", "--client", client, "orders"}, exitOK,
			[]string{"conversion orders of client " + client + " disabled by tester"}, nil},
		{"disable again", []string{"conversion", "disable", "--client", client, "orders"}, exitOK,
			[]string{"no change (disabled already)"}, nil},
		{"show a missing one", []string{"conversion", "show", "--client", client, "leads"},
			exitFailed, nil, []string{"has no conversion leads"}},
	}
	ctx := context.Background()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.run(s.args...).want(t, s.code, s.stdout, s.stderr...)
		})
		if s.name == "apply a misspelt column" {
			_, err := c.env.Store.Definition(ctx, client, "orders")
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after a refused apply, the definition reads %v; want not found", err)
			}
		}
		if s.name == "apply the misspelt one over it" {
			d, err := c.env.Store.Definition(ctx, client, "orders")
			if err != nil || d.SQL != sql || d.Hash != contract.Hash(sql) || d.Author != "tester" ||
				!d.Enabled || d.Name != "Paid orders" {
				t.Fatalf("after a refused apply, the definition reads %+v, %v; want the good one",
					d, err)
			}
		}
	}

	d, err := c.env.Store.Definition(ctx, client, "orders")
	if err != nil || d.SQL != newSQL || d.Hash != contract.Hash(newSQL) || d.Enabled ||
		d.Author != "tester" {
		t.Errorf("definition = %+v, %v; want the changed SQL, disabled by tester", d, err)
	}

	r := c.run("--json", "conversion", "apply", good, "--client", client)
	var res applied
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Action != "updated" ||
		len(res.Changes) != 2 || res.Definition.Hash != contract.Hash(sql) {
		t.Errorf("apply --json = %+v, %v; want updated, with enabled and hash changed\n%s",
			res, err, r.stdout)
	}
}

func TestPreview(t *testing.T) {
	c := newCLI(t)
	client := c.env.Client.ID
	testkit.LoadOrders(t, c.env.Dataset, "orders", []testkit.Order{
		{ID: testkit.Str("o1"), UserID: testkit.Str("ga.1"), CreatedAt: ts("2026-03-02T10:00:00Z"),
			OrderValue: testkit.Num(12.5), OrderStatus: "paid",
			Properties: testkit.Props("currency", " gbp ", "city", "Leeds")},
		{ID: testkit.Str("o2"), CreatedAt: ts("2026-03-03T11:00:00Z"),
			OrderValue: testkit.Num(40), OrderStatus: "pending",
			Properties: testkit.Props("currency", "POUNDS")},
		{ID: testkit.Str("o3"), CreatedAt: ts("2026-03-04T12:00:00Z"), OrderStatus: "paid"},
		{ID: testkit.Str("o4"), CreatedAt: ts("2026-03-20T12:00:00Z"), OrderStatus: "paid"},
	})
	sql := `SELECT id, userId AS client_id, createdAt AS created, orderValue AS value,
  (SELECT value FROM UNNEST(properties) WHERE key = 'currency') AS currency,
  orderStatus = 'paid' AS is_qualified,
  ARRAY(SELECT AS STRUCT * FROM UNNEST(properties) WHERE key = 'city') AS params
FROM ` + c.env.Table("orders") + `
WHERE DATE(createdAt) BETWEEN @start_date AND @end_date`
	c.env.Define(t, "orders", sql)
	file := writeFile(t, t.TempDir(), "orders.yaml", "id: orders\nsql: |\n"+indent(sql, "  ")+"\n")

	window := []string{"--client", client, "--start", "2026-03-01", "--end", "2026-03-07"}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"stored", append([]string{"conversion", "preview", "--conversion", "orders"}, window...),
			exitOK, []string{"PROBLEMS",
				"o1 2026-03-02 10:00:00Z 12.5 GBP yes ga.1 NULL city=Leeds -",
				"o2 2026-03-03 11:00:00Z 40 POUNDS no NULL NULL - currency_invalid",
				"o3 2026-03-04 12:00:00Z NULL GBP yes NULL NULL - -",
				"3 of 3 rows for 2026-03-01..2026-03-07 shown; 1 rows of the window have problems"},
			""},
		{"file, limited", append([]string{"conversion", "preview", "--file", file, "--limit", "1"},
			window...), exitOK, []string{"1 of 3 rows", "1 rows of the window have problems"}, ""},
		{"future end", []string{"conversion", "preview", "--conversion", "orders", "--client", client,
			"--start", "2026-03-01", "--end", time.Now().AddDate(0, 0, 3).Format(time.DateOnly)},
			exitUsage, nil, "in the future"},
		{"missing conversion", append([]string{"conversion", "preview", "--conversion", "leads"},
			window...), exitFailed, nil, "has no conversion leads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(tt.args...)
			r.stdout = squash(r.stdout)
			if tt.stderr == "" {
				r.want(t, tt.code, tt.stdout)
			} else {
				r.want(t, tt.code, tt.stdout, tt.stderr)
			}
		})
	}

	r := c.run(append([]string{"--json", "conversion", "preview", "--conversion", "orders"},
		window...)...)
	var p preview
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("preview --json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	problems := map[string]string{}
	for _, row := range p.Rows {
		problems[row.ID] = strings.Join(row.Problems, ",")
	}
	want := map[string]string{"o1": "", "o2": "currency_invalid", "o3": ""}
	if p.TotalRows != 3 || p.WithProblems != 1 || len(problems) != 3 {
		t.Errorf("preview --json: %d rows, %d with problems, rows %v; want 3, 1, %v",
			p.TotalRows, p.WithProblems, problems, want)
	}
	for id, w := range want {
		if problems[id] != w {
			t.Errorf("preview --json: row %s has problems %q; want %q", id, problems[id], w)
		}
	}
}
