package reliability

import (
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"

	"customconversions.dev/shared/store"
	"customconversions.dev/shared/testkit"
	"customconversions.dev/shared/warehouse"
)

// bulkSQL returns 2,000 rows, n = 1..2000, mixing every kind of bad value
// the extraction checks with odd values it must keep as they are. By the
// last two digits of n:
//
//	01            created NULL                          rejected
//	02            created in 2999                       rejected
//	03            currency POUND                        rejected
//	04            value +Inf (n%200=4) or -Inf (=104)   rejected
//	05 (n%200=5)  a param with an empty key             rejected
//	05 (n%200=105) created NULL and currency XXX        rejected, two reasons
//	07, 08        value 1e308, NULL                     kept
//	09, 10, 11    currency ' gbp ', '', NULL            kept as GBP
//	12            is_qualified NULL                     kept as false
//	13            user_id of 10,000 characters          kept
//	50            id NULL                               kept, id generated
//	60..69        id dupK for K = n/100 (10 rows an id) kept, one per id
//
// and client_id by n%7: SQL text, a backtick, newline and quote, NULL,
// characters outside ASCII, or plain. (NaN is left out: the emulator reads
// it as NULL, which is accepted, where BigQuery rejects it.)
const bulkSQL = `SELECT
  CASE WHEN MOD(n, 100) = 50 THEN NULL
       WHEN MOD(n, 100) BETWEEN 60 AND 69 THEN CONCAT('dup', CAST(DIV(n, 100) AS STRING))
       ELSE CONCAT('r', CAST(n AS STRING)) END AS id,
  CASE MOD(n, 7)
       WHEN 0 THEN CONCAT("GA1.'; DROP TABLE x; --", CAST(n AS STRING))
       WHEN 1 THEN CONCAT('GA1.` + "`" + `\n"', CAST(n AS STRING))
       WHEN 2 THEN NULL
       WHEN 3 THEN CONCAT('GA1.ü€😀', CAST(n AS STRING))
       ELSE CONCAT('GA1.', CAST(n AS STRING)) END AS client_id,
  CASE WHEN MOD(n, 100) = 1 OR MOD(n, 200) = 105 THEN NULL
       WHEN MOD(n, 100) = 2 THEN TIMESTAMP '2999-01-01 00:00:00+00'
       ELSE TIMESTAMP_ADD(TIMESTAMP '2026-03-08 00:00:00+00', INTERVAL n SECOND) END AS created,
  CASE WHEN MOD(n, 200) = 4 THEN IEEE_DIVIDE(1, 0)
       WHEN MOD(n, 200) = 104 THEN IEEE_DIVIDE(-1, 0)
       WHEN MOD(n, 100) = 7 THEN 1e308
       WHEN MOD(n, 100) = 8 THEN NULL
       ELSE n / 10 END AS value,
  CASE WHEN MOD(n, 100) = 3 THEN 'POUND'
       WHEN MOD(n, 200) = 105 THEN 'XXX'
       WHEN MOD(n, 100) = 9 THEN ' gbp '
       WHEN MOD(n, 100) = 10 THEN ''
       WHEN MOD(n, 100) = 11 THEN NULL
       ELSE 'EUR' END AS currency,
  IF(MOD(n, 100) = 12, NULL, MOD(n, 3) = 0) AS is_qualified,
  IF(MOD(n, 200) = 5, [STRUCT('' AS key, 'x' AS value)],
     [STRUCT('city' AS key, CONCAT('c', CAST(n AS STRING)) AS value)]) AS params,
  IF(MOD(n, 100) = 13, REPEAT('u', 10000), CAST(n AS STRING)) AS user_id
FROM UNNEST(GENERATE_ARRAY(1, 2000)) AS n`

// brokenSQL returns 1,000 rows, every second one created in 2999.
const brokenSQL = `SELECT CONCAT('b', CAST(n AS STRING)) AS id,
  IF(MOD(n, 2) = 0, TIMESTAMP '2999-01-01 00:00:00+00',
     TIMESTAMP_ADD(TIMESTAMP '2026-03-08 00:00:00+00', INTERVAL n SECOND)) AS created
FROM UNNEST(GENERATE_ARRAY(1, 1000)) AS n`

type bulkRow struct {
	ConversionID string               `bigquery:"conversion_id"`
	ID           string               `bigquery:"id"`
	IDGenerated  bool                 `bigquery:"id_generated"`
	ClientID     bigquery.NullString  `bigquery:"client_id"`
	Value        bigquery.NullFloat64 `bigquery:"value"`
	Currency     string               `bigquery:"currency"`
	IsQualified  bool                 `bigquery:"is_qualified"`
	UserID       string               `bigquery:"user_id"`
}

type rejectedRow struct {
	RunID    string               `bigquery:"run_id"`
	ID       string               `bigquery:"id"`
	Value    bigquery.NullFloat64 `bigquery:"value"`
	Problems []string             `bigquery:"problems"`
}

// TestThousandsOfMixedRows runs two conversions of one client in bulk:
// one whose rejected share is exactly the 5% allowed (merged, its
// rejected rows kept), and one with half its rows rejected (nothing
// merged). Every row read is accounted for: merged, collapsed into a
// duplicate, or in the rejected-rows table with its reasons.
func TestThousandsOfMixedRows(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tn := w.tenant("a")
	tn.define("bulk", bulkSQL)
	tn.define("broken", brokenSQL)
	runs := w.handled(tn, request(tn.ID), "day1", days[0])
	bulk, broken := w.merged(tn, runs["bulk"]), w.merged(tn, runs["broken"])
	figures.rows.Add(2000 + 1000)
	figures.badRows.Add(100 + 500)

	// By the table above, each residue of n%100 is 20 rows: 80 rejected
	// for 01..04, 20 for 05; reasons created_missing 20+10,
	// created_in_future 20, currency_invalid 20+10, value_not_finite 20,
	// param_empty_key 10. 100 of 2,000 is exactly 5%, which is allowed.
	// Accepted 1,900: 200 rows on 20 dup ids collapse to 20 (180
	// dropped), so 1,720 merged, 20 of them with generated ids.
	c := bulk.Counts
	wantReasons := map[string]int64{"created_missing": 30, "created_in_future": 20,
		"currency_invalid": 30, "value_not_finite": 20, "param_empty_key": 10}
	if bulk.State != store.StateSucceeded || c.Read != 2000 || c.Rejected != 100 || c.Duplicates != 180 ||
		c.Generated != 20 || c.Inserted != 1720 || c.Updated != 0 {
		t.Errorf("bulk run %s, counts %+v; want succeeded, read 2000, rejected 100, duplicates 180, "+
			"generated 20, inserted 1720\nlogs:\n%s", bulk.State, c, w.logs)
	}
	for r, n := range wantReasons {
		if c.RejectedByReason[r] != n {
			t.Errorf("bulk run: %d rejected for %s; want %d (all: %v)", c.RejectedByReason[r], r, n,
				c.RejectedByReason)
		}
	}
	if !slices.Equal(c.RejectedSamples, []string{"r1", "r1001", "r1002", "r1003", "r1004"}) {
		t.Errorf("samples %v; want the first five rejected ids in string order", c.RejectedSamples)
	}

	// 500 of 1,000 rejected (50%): the run fails and merges nothing.
	if broken.State != store.StateFailed || broken.Counts.Rejected != 500 || broken.Counts.Inserted != 0 ||
		!strings.Contains(broken.Error, "500 of 1000 rows (50.0%) were rejected") ||
		!strings.Contains(broken.Error, "nothing was merged") {
		t.Errorf("broken run %s, %+v, %q; want failed, 500 rejected, nothing merged", broken.State,
			broken.Counts, broken.Error)
	}

	rows := testkit.Query[bulkRow](t, w.bq, "SELECT conversion_id, id, id_generated, client_id, value, "+
		"currency, is_qualified, user_id FROM "+tn.table(warehouse.AttributionTable))
	byID := map[string]bulkRow{}
	generated := 0
	for _, r := range rows {
		if r.ConversionID != "bulk" {
			t.Errorf("attribution row of conversion %s: %s; want the bulk conversion's only", r.ConversionID, r.ID)
		}
		if _, dup := byID[r.ID]; dup {
			t.Errorf("id %s twice in the table", r.ID)
		}
		byID[r.ID] = r
		if r.IDGenerated {
			generated++
		}
	}
	if len(rows) != 1720 || generated != 20 {
		t.Errorf("table has %d rows, %d generated; want 1720, 20", len(rows), generated)
	}

	// Rows worked out one by one: dup0 is n=60..69, the qualified ones
	// (n%3=0: 60, 63, 66, 69) first, then the latest: 69. dup19: 1968.
	check := []struct {
		id   string
		want func(bulkRow) bool
		what string
	}{
		{"dup0", func(r bulkRow) bool { return r.UserID == "69" && r.Value.Float64 == 6.9 && r.IsQualified },
			"n=69, 6.9, qualified"},
		{"dup19", func(r bulkRow) bool { return r.UserID == "1968" && r.Value.Float64 == 196.8 },
			"n=1968, 196.8"},
		{"r7", func(r bulkRow) bool {
			return r.Value.Float64 == 1e308 && r.ClientID.StringVal == "GA1.'; DROP TABLE x; --7"
		}, "1e308 and the SQL text kept as written"},
		{"r8", func(r bulkRow) bool { return !r.Value.Valid }, "value NULL"},
		{"r9", func(r bulkRow) bool { return r.Currency == "GBP" && !r.ClientID.Valid },
			"' gbp ' as GBP, NULL client"},
		{"r10", func(r bulkRow) bool { return r.Currency == "GBP" && r.ClientID.StringVal == "GA1.ü€😀10" },
			"'' as GBP, characters outside ASCII kept"},
		{"r11", func(r bulkRow) bool { return r.Currency == "GBP" && r.ClientID.StringVal == "GA1.11" },
			"NULL as GBP"},
		{"r15", func(r bulkRow) bool { return r.ClientID.StringVal == "GA1.`\n\"15" },
			"backtick, newline and quote kept"},
		{"r12", func(r bulkRow) bool { return !r.IsQualified && r.Currency == "EUR" }, "NULL qualified as false"},
		{"r13", func(r bulkRow) bool { return r.UserID == strings.Repeat("u", 10000) }, "10,000-character user id"},
	}
	for _, c := range check {
		r, ok := byID[c.id]
		if !ok || !c.want(r) {
			t.Errorf("row %s = %+v (found %v); want %s", c.id, r, ok, c.what)
		}
	}

	rejected := testkit.Query[rejectedRow](t, w.bq, "SELECT run_id, id, value, problems FROM "+
		tn.table(warehouse.RejectedTable))
	perRun := map[string]int{}
	byRejected := map[string]rejectedRow{}
	for _, r := range rejected {
		perRun[r.RunID]++
		byRejected[r.RunID+"/"+r.ID] = r
	}
	if perRun[bulk.ID] != 100 || perRun[broken.ID] != 500 || len(perRun) != 2 {
		t.Errorf("rejected rows per run %v; want 100 for %s and 500 for %s", perRun, bulk.ID, broken.ID)
	}
	for id, want := range map[string][]string{
		"r1": {"created_missing"}, "r2": {"created_in_future"}, "r3": {"currency_invalid"},
		"r4": {"value_not_finite"}, "r104": {"value_not_finite"}, "r5": {"param_empty_key"},
		"r105": {"created_missing", "currency_invalid"},
	} {
		r := byRejected[bulk.ID+"/"+id]
		if !slices.Equal(r.Problems, want) {
			t.Errorf("rejected %s: problems %v; want %v", id, r.Problems, want)
		}
		if id == "r4" && r.Value.Valid {
			t.Errorf("rejected r4: value %v; want NULL in place of +Inf", r.Value)
		}
	}

	// Nothing lost: read = merged + duplicates dropped + rejected.
	if got := int64(len(rows)) + c.Duplicates + int64(perRun[bulk.ID]); got != c.Read {
		t.Errorf("merged %d + duplicates %d + rejected %d = %d; want the %d read", len(rows), c.Duplicates,
			perRun[bulk.ID], got, c.Read)
	}
}
