package reliability

import (
	"strings"
	"testing"

	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// TestHostileDefinitions stores definitions that try to do more than one
// SELECT, and runs each: every run must fail before any extraction job,
// with an error that says why, and the client's table must stay as it
// was. {attr} is the client's attribution table, the usual target.
func TestHostileDefinitions(t *testing.T) {
	t.Parallel()
	w, tn := faultWorld(t)
	attr := tn.table(warehouse.AttributionTable)

	tests := []struct {
		name, sql string
		want      []string // in the run's error
	}{
		{"delete", "DELETE FROM {attr} WHERE TRUE", []string{"starts with DELETE", "one SELECT statement"}},
		{"insert", "INSERT INTO {attr} (conversion_id, id) VALUES ('x', 'y')", []string{"starts with INSERT"}},
		{"update", "UPDATE {attr} SET value = 0 WHERE TRUE", []string{"starts with UPDATE"}},
		{"merge", "MERGE {attr} t USING {attr} s ON FALSE WHEN NOT MATCHED BY SOURCE THEN DELETE",
			[]string{"starts with MERGE"}},
		{"truncate", "TRUNCATE TABLE {attr}", []string{"starts with TRUNCATE"}},
		{"drop", "DROP TABLE {attr}", []string{"starts with DROP"}},
		{"create", "CREATE OR REPLACE TABLE {attr} AS SELECT 1 AS x", []string{"starts with CREATE"}},
		{"alter", "ALTER TABLE {attr} DROP COLUMN value", []string{"starts with ALTER"}},
		{"script", "BEGIN\n  DELETE FROM {attr} WHERE TRUE;\nEND", []string{"starts with BEGIN"}},
		{"declare", "DECLARE n INT64 DEFAULT 1;\nSELECT CURRENT_TIMESTAMP() AS created",
			[]string{"starts with DECLARE"}},
		{"execute immediate", "EXECUTE IMMEDIATE 'DELETE FROM {attr} WHERE TRUE'",
			[]string{"starts with EXECUTE"}},
		{"call", "CALL `other-project.tools.wipe`()", []string{"starts with CALL"}},
		{"select then delete", "SELECT CURRENT_TIMESTAMP() AS created;\nDELETE FROM {attr} WHERE TRUE",
			[]string{"more than one statement", "line 1"}},
		{"delete after a comment",
			"/* ; */ SELECT CURRENT_TIMESTAMP() AS created -- ;\n; DELETE FROM {attr} WHERE TRUE",
			[]string{"more than one statement"}},
		{"extra parameter", "SELECT CURRENT_TIMESTAMP() AS created FROM UNNEST([1]) AS x WHERE x = @limit",
			[]string{"unknown query parameter @limit", "only @start_date and @end_date"}},
		{"system variable", "SELECT CURRENT_TIMESTAMP() AS created, @@project_id AS id",
			[]string{"system variable @@project_id"}},
		// A raw string's backslash still keeps the quote after it inside
		// the string (r'\'' is the two characters \'): a scanner that let
		// the quote end the string would see what follows as a string
		// and pass the DELETE, which the emulator's schema probe runs.
		{"raw string hides a delete", "SELECT r'\\'' AS id) ; DELETE FROM {attr} WHERE TRUE; " +
			"SELECT CURRENT_TIMESTAMP() AS created FROM (SELECT 1 -- '",
			[]string{"more than one statement"}},
		// The same with a triple-quoted string, whose backslash escapes
		// a quote too: '''a\'''' is the string a'.
		{"triple-quoted string hides a delete", "SELECT '''a\\'''' AS id) ; DELETE FROM {attr} WHERE TRUE; " +
			"SELECT CURRENT_TIMESTAMP() AS created FROM (SELECT 1 -- '",
			[]string{"more than one statement"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			figures.badInputs.Add(1)
			conv := "hostile" + string(rune('a'+i))
			tn.define(conv, strings.ReplaceAll(tt.sql, "{attr}", attr))
			runs := w.handled(tn, request(tn.ID, "conversion_id", conv), "msg-"+conv, days[1])
			run, ok := runs[conv]
			if !ok {
				t.Fatalf("no run recorded\nlogs:\n%s", w.logs)
			}
			if run.State != store.StateFailed || len(run.Jobs) != 0 {
				t.Errorf("run %s, jobs %v; want failed before any job", run.State, run.Jobs)
			}
			for _, s := range tt.want {
				if !strings.Contains(run.Error, s) {
					t.Errorf("run error %q; want it to contain %q", run.Error, s)
				}
			}
			if c := tn.masked(); c != ordersDay1 {
				t.Fatalf("table after the definition\n%s\nwant it untouched\n%s", c, ordersDay1)
			}
		})
	}
	if !w.logs.has("ERROR", "run failed") {
		t.Errorf("no ERROR line for the failed runs:\n%s", w.logs)
	}
}

// TestDefinitionReadingAnotherProject reads a table in another project.
// The emulator serves one project and answers that the other does not
// exist; BigQuery answers access denied until the service account is
// granted read access there, which the proxy answers in the emulator's
// place (the emulator has no permissions).
func TestDefinitionReadingAnotherProject(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tn := w.tenant("a")
	sql := "SELECT id, createdAt AS created FROM `client-crm-4711.crm.orders`\n" +
		"WHERE DATE(createdAt) BETWEEN @start_date AND @end_date"
	tn.define("orders", sql)

	tests := []struct {
		name  string
		fault *rule
		want  []string
	}{
		{"emulator: no such project", nil,
			[]string{"the definition's SQL", "client-crm-4711"}},
		{"proxy: access denied", &rule{left: 1, status: 403, reason: "accessDenied",
			message: "Access Denied: Table client-crm-4711:crm.orders: User does not have permission " +
				"to query table client-crm-4711:crm.orders, or perhaps it does not exist.",
			match: func(c call) bool { return c.Kind == "insert" && strings.Contains(c.SQL, "client-crm-4711") }},
			[]string{"grant cc-functions@cc-local.iam.gserviceaccount.com",
				"BigQuery Data Viewer (roles/bigquery.dataViewer)", "in project client-crm-4711",
				"BigQuery User (roles/bigquery.user) on project client-crm-4711"}},
	}
	for i, tt := range tests {
		figures.badInputs.Add(1)
		if tt.fault != nil {
			figures.faults.Add(1)
			w.proxy.add(tt.fault)
		}
		run := w.handled(tn, request(tn.ID), "msg-"+string(rune('a'+i)), days[1])["orders"]
		if run.State != store.StateFailed || len(run.Jobs) != 0 {
			t.Errorf("%s: run %s, jobs %v; want failed before any job", tt.name, run.State, run.Jobs)
		}
		for _, s := range tt.want {
			if !strings.Contains(run.Error, s) {
				t.Errorf("%s: run error %q; want it to contain %q", tt.name, run.Error, s)
			}
		}
	}
}
