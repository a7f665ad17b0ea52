package crmfile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/crmfile"
	"customconversions.dev/shared/emulators"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{Services: emulators.BigQuery}))
}

// referenceSQL is DESIGN.md's reference definition, with `crm.orders`
// left as %s for the loaded table.
const referenceSQL = `SELECT id, userId AS client_id, createdAt AS created,
  orderValue AS value, 'GBP' AS currency,
  IF(orderStatus IN ('confirmed', 'paid'), TRUE, FALSE) AS is_qualified,
  ARRAY(SELECT AS STRUCT * FROM UNNEST(properties)
        WHERE key IN ('country', 'region', 'city')) AS params
FROM ` + "`%s`" + `
WHERE DATE(createdAt) BETWEEN DATE_SUB(@start_date, INTERVAL 30 DAY)
  AND @end_date`

// newBigQuery returns a client for the shared emulator and a fresh
// dataset name for the test.
func newBigQuery(t *testing.T) (*bigquery.Client, emulators.Names) {
	t.Helper()
	s := emulators.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bq, err := s.BigQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bq.Close() })
	n := s.NewNames(t)
	emulators.NewDataset(t, bq, n)
	return bq, n
}

// TestReferenceSQLOverLoadedFiles loads the reference fixture from NDJSON
// (schema inferred) and from CSV (schema file, columns folded into
// properties), runs the reference definition for the run day 2024-03-06
// and checks every value (a STRUCT comes back as [key value]). The window
// is 2024-02-05 to 2024-03-06: the rows of 7 March and 15 January fall
// out, the rest come back with their geo properties only.
func TestReferenceSQLOverLoadedFiles(t *testing.T) {
	schema, err := crmfile.ReadSchemaFile(filepath.Join(crmDir, "orders.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name string
		opts crmfile.Options
	}{
		{"orders.ndjson", crmfile.Options{}},
		{"orders.csv", crmfile.Options{Schema: schema, Properties: foldOrders}},
	}
	want := []string{
		`"A-1001" | "1111111111.1700000001" | 2024-03-01T09:15:00Z | 120.5 | "GBP" | true | ` +
			`[["country" "GB"] ["city" "London"]]`,
		`"A-1002" | "2222222222.1700000002" | 2024-03-02T14:00:00Z | 80 | "GBP" | false | ` +
			`[["country" "GB"] ["region" "Scotland"] ["city" "Edinburgh"]]`,
		`"A-1003" | NULL | 2024-03-03T23:30:00Z | 15.25 | "GBP" | true | []`,
		`"A-1004" | "3333333333.1700000004" | 2024-03-05T07:00:00Z | NULL | "GBP" | false | ` +
			`[["country" "FR"]]`,
		`"A-1001" | "1111111111.1700000001" | 2024-03-06T10:00:00Z | 120.5 | "GBP" | true | ` +
			`[["country" "GB"]]`,
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			bq, n := newBigQuery(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			l := &crmfile.Loader{Client: bq}
			path := filepath.Join(crmDir, f.name)
			if _, err := l.LoadFile(ctx, path, n.Dataset, "orders", f.opts); err != nil {
				t.Fatalf("LoadFile: %v", err)
			}

			q := bq.Query(fmt.Sprintf(referenceSQL, n.Dataset+".orders"))
			day := civil.Date{Year: 2024, Month: 3, Day: 6}
			q.Parameters = []bigquery.QueryParameter{
				{Name: "start_date", Value: day},
				{Name: "end_date", Value: day},
			}
			got := readAll(ctx, t, q)
			// The SQL has no ORDER BY: sort by created, distinct in the window.
			byCreated := func(a, b string) int { return strings.Compare(createdOf(a), createdOf(b)) }
			slices.SortFunc(got, byCreated)
			if !slices.Equal(got, want) {
				t.Errorf("reference SQL returned\n%s\nwant\n%s",
					strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// createdOf picks the created column out of a rendered result row.
func createdOf(row string) string {
	parts := strings.Split(row, " | ")
	return parts[2]
}

// readAll runs q and renders its rows.
func readAll(ctx context.Context, t *testing.T, q *bigquery.Query) []string {
	t.Helper()
	it, err := q.Read(ctx)
	if err != nil {
		t.Fatalf("running the query: %v", err)
	}
	var out []string
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if err == iterator.Done {
			return out
		}
		if err != nil {
			t.Fatalf("reading the results: %v", err)
		}
		out = append(out, renderRow(row))
	}
}

// TestLoadEveryType loads a file with every type the loader writes,
// nested and repeated fields, NaN and infinities included, and reads it
// back.
func TestLoadEveryType(t *testing.T) {
	schema, err := crmfile.ReadSchemaFile(filepath.Join(crmDir, "types.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	bq, n := newBigQuery(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := &crmfile.Loader{Client: bq}
	path := filepath.Join(crmDir, "types.ndjson")
	opts := crmfile.Options{Schema: schema}
	if _, err := l.LoadFile(ctx, path, n.Dataset, "types", opts); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	q := bq.Query("SELECT n, CAST(price AS STRING), ratio, ok, day, local, clock, ts, tags, " +
		"customer FROM `" + n.Dataset + ".types` ORDER BY n")
	got := readAll(ctx, t, q)
	want := []string{
		`1 | "12.5" | 0.25 | true | 2024-02-29 | 2024-02-29T23:59:58 | 07:30:00 | ` +
			`2024-02-29T23:59:58.123456Z | ["a" "b"] | ["Ada" 2]`,
		`2 | "3" | NULL | false | 2024-02-01 | NULL | NULL | NULL | [] | NULL`,
		// The emulator stores NaN as NULL (SQLite has no NaN); BigQuery
		// keeps it. Infinities survive.
		`3 | NULL | NULL | NULL | NULL | NULL | NULL | NULL | [] | NULL`,
		`4 | NULL | -Inf | NULL | NULL | NULL | NULL | NULL | [] | NULL`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("read back\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLoadOnlineRetail loads the 2,709-row UCI sample and checks in SQL
// the facts counted apart (see TestOnlineRetailSample).
func TestLoadOnlineRetail(t *testing.T) {
	path := sharedFile(t, "online-retail-sample.csv")
	bq, n := newBigQuery(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	l := &crmfile.Loader{Client: bq}
	opts := crmfile.Options{Location: london(t)}
	if _, err := l.LoadFile(ctx, path, n.Dataset, "retail", opts); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	t.Logf("read and loaded 2,709 rows in %s", time.Since(start).Round(time.Millisecond))

	q := bq.Query(`SELECT COUNT(*), COUNTIF(CustomerID IS NULL), SUM(Quantity),
		COUNTIF(STARTS_WITH(InvoiceNo, 'C')), MIN(InvoiceDate)
		FROM ` + "`" + n.Dataset + ".retail`")
	got := readAll(ctx, t, q)
	want := []string{"2709 | 668 | 24135 | 50 | 2010-12-01T09:02:00Z"}
	if !slices.Equal(got, want) {
		t.Errorf("facts = %q, want %q", got, want)
	}
}

// TestLoadRefusesAnExistingTable keeps a second load from mixing rows
// into a table that already holds some.
func TestLoadRefusesAnExistingTable(t *testing.T) {
	bq, n := newBigQuery(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := &crmfile.Loader{Client: bq}
	path := filepath.Join(crmDir, "orders.ndjson")
	if _, err := l.LoadFile(ctx, path, n.Dataset, "orders", crmfile.Options{}); err != nil {
		t.Fatalf("first LoadFile: %v", err)
	}
	_, err := l.LoadFile(ctx, path, n.Dataset, "orders", crmfile.Options{})
	if err == nil || !strings.Contains(err.Error(), "creating table") {
		t.Errorf("second LoadFile = %v, want an error creating the table", err)
	}
}

// BenchmarkLoadOnlineRetail measures loading the UCI sample (2,709 rows,
// 9 columns) into the emulator: parse, create, insert, count.
func BenchmarkLoadOnlineRetail(b *testing.B) {
	path := sharedFile(b, "online-retail-sample.csv")
	s := emulators.Shared(b)
	ctx := context.Background()
	bq, err := s.BigQuery(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer bq.Close()
	n := s.NewNames(b)
	emulators.NewDataset(b, bq, n)
	l := &crmfile.Loader{Client: bq}
	for i := 0; b.Loop(); i++ {
		table := fmt.Sprintf("retail_%d", i)
		if _, err := l.LoadFile(ctx, path, n.Dataset, table, crmfile.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
