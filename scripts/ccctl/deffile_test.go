package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDefFile(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		json    bool
		want    parsed
		wantErr string
	}{
		{name: "inline, enabled left out",
			data: "id: orders\nsql: |\n  SELECT 1 AS created\n",
			want: parsed{fileDefinition: fileDefinition{ID: "orders", Name: "orders",
				SQL: "SELECT 1 AS created", Enabled: true}}},
		{name: "file beside it, disabled",
			data: "id: leads\nname: ' Web leads '\nsql_file: leads.sql\nenabled: false\n",
			want: parsed{fileDefinition: fileDefinition{ID: "leads", Name: "Web leads"},
				sqlFile: "leads.sql"}},
		{name: "JSON", json: true,
			data: `{"id": "calls", "name": "Calls", "sql": "SELECT 2 AS created", "enabled": true}`,
			want: parsed{fileDefinition: fileDefinition{ID: "calls", Name: "Calls",
				SQL: "SELECT 2 AS created", Enabled: true}}},
		{name: "misspelt field", data: "id: orders\nsql: SELECT 1\nenable: false\n",
			wantErr: "enable"},
		{name: "misspelt JSON field", json: true, data: `{"id": "orders", "sql": "x", "nmae": "a"}`,
			wantErr: `unknown field "nmae"`},
		{name: "both SQLs", data: "id: orders\nsql: SELECT 1\nsql_file: o.sql\n",
			wantErr: "both sql and sql_file"},
		{name: "no SQL", data: "id: orders\n", wantErr: "no SQL"},
		{name: "no id", data: "sql: SELECT 1\n", wantErr: "id is missing"},
		{name: "bad id", data: "id: Orders\nsql: SELECT 1\n", wantErr: `id "Orders" is not valid`},
		{name: "not YAML", data: "id: [orders\n", wantErr: "not a definition file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDefFile([]byte(tt.data), tt.json)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseDefFile(%q) error = %v; want one containing %q",
						tt.data, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseDefFile(%q) = %+v, %v; want %+v", tt.data, got, err, tt.want)
			}
		})
	}
}

func TestReadDefFileSQLBeside(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("orders.sql", "\nSELECT id, createdAt AS created\nFROM crm.orders\n\n")
	got, err := readDefFile(write("orders.yaml", "id: orders\nsql_file: orders.sql\n"))
	want := fileDefinition{ID: "orders", Name: "orders",
		SQL: "SELECT id, createdAt AS created\nFROM crm.orders", Enabled: true}
	if err != nil || got != want {
		t.Errorf("readDefFile = %+v, %v; want %+v", got, err, want)
	}

	_, err = readDefFile(write("missing.yaml", "id: orders\nsql_file: nope.sql\n"))
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "nope.sql") {
		t.Errorf("readDefFile with a missing sql_file = %v (exit %d); want a usage error naming it",
			err, exitCode(err))
	}
}
