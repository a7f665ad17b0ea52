package crmfile_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/London on machines without a zoneinfo database

	"customconversions.dev/shared/crmfile"
)

const crmDir = "../../testdata/crm"

func london(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestInference checks the type one column of values is inferred as.
func TestInference(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
		want  string
	}{
		{"bools any case", []string{"TRUE", "false", "NA"}, "BOOLEAN"},
		{"integers", []string{"1", "-3", "+42"}, "INTEGER"},
		{"integers and decimals", []string{"1", "2.5", "1e3"}, "FLOAT"},
		{"leading zero keeps digits", []string{"007", "12"}, "STRING"},
		{"past int64 keeps digits", []string{"99999999999999999999"}, "STRING"},
		{"thousands separator", []string{"1,234.5"}, "STRING"},
		{"0 and 1 are numbers, not bools", []string{"0", "1"}, "INTEGER"},
		{"dates", []string{"2011-10-31", "6/12/2011"}, "DATE"},
		{"dates and timestamps", []string{"2011-10-31", "2011-10-31 10:42:00"}, "TIMESTAMP"},
		{"US timestamps", []string{"10/31/2011 10:42", "6/12/2011 9:10"}, "TIMESTAMP"},
		{"RFC 3339 and fractions",
			[]string{"2024-03-05T08:00:00+01:00", "2020-09-12 00:15:10.199 "}, "TIMESTAMP"},
		{"day first is text", []string{"31/10/2011 10:42"}, "STRING"},
		{"numbers and text", []string{"1", "one"}, "STRING"},
		{"all NULL", []string{"NA", ""}, "STRING"},
		{"NaN is text", []string{"NaN", "1.5"}, "STRING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "c\n\"" + strings.Join(tt.cells, "\"\n\"") + "\"\n"
			d, err := crmfile.Read(strings.NewReader(in), "t.csv", crmfile.Options{})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if got := string(d.Schema[0].Type); got != tt.want {
				t.Errorf("column of %q inferred as %s, want %s", tt.cells, got, tt.want)
			}
		})
	}
}

// TestTimestampForms checks timestamp values against times worked out by
// hand, in Europe/London (GMT in winter, BST = UTC+1 from the last Sunday
// of March to the last Sunday of October).
func TestTimestampForms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10/31/2011 10:42", "2011-10-31T10:42:00Z"}, // BST ended on 30 October 2011
		{"6/12/2011 9:10", "2011-06-12T08:10:00Z"},
		{"10/30/2011 12:00:30", "2011-10-30T12:00:30Z"},
		{"3/3/2011 9:10 PM", "2011-03-03T21:10:00Z"},
		{"2020-09-12 00:15:10.199 ", "2020-09-11T23:15:10.199Z"},
		{"2020-09-12T00:15:10", "2020-09-11T23:15:10Z"},
		{"2024-03-05T08:00:00+01:00", "2024-03-05T07:00:00Z"},
		{"2024-03-05 08:00:00-05:00", "2024-03-05T13:00:00Z"},
		{"2024-07-07 12:00:00 UTC", "2024-07-07T12:00:00Z"},
		{"2024-07-07", "2024-07-06T23:00:00Z"},
	}
	for _, tt := range tests {
		in := "createdAt\n\"" + tt.in + "\"\n"
		opts := crmfile.Options{Location: london(t)}
		d, err := crmfile.Read(strings.NewReader(in), "t.csv", withSchema(t, opts, "TIMESTAMP"))
		if err != nil {
			t.Errorf("reading %q: %v", tt.in, err)
			continue
		}
		if got := render(d.Rows[0].Values[0]); got != tt.want {
			t.Errorf("timestamp %q = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// withSchema gives opts a one-column schema createdAt of type typ.
func withSchema(t *testing.T, opts crmfile.Options, typ string) crmfile.Options {
	t.Helper()
	s, err := crmfile.ParseSchema("inline", []byte(`[{"name":"createdAt","type":"`+typ+`"}]`))
	if err != nil {
		t.Fatal(err)
	}
	opts.Schema = s
	return opts
}

// TestReadTypesCSV reads an R-style file: byte-order mark, an unnamed
// row-number column, doubled quotes, a quoted line break, NA and empty
// cells.
func TestReadTypesCSV(t *testing.T) {
	tests := []struct {
		loc  *time.Location
		want []string
	}{
		{time.UTC, []string{
			`2: 1 | "Widget \"XL\"" | 4 | 4.25 | true | 2011-10-31 | ` +
				`2011-10-31T10:42:00Z | "007" | "x"`,
			`3: 2 | "Gadget" | NULL | 1 | false | 2011-06-12 | 2011-06-12T09:10:00Z | "12" | NULL`,
			`4: 3 | "Thing, big\nsecond line" | -3 | NULL | NULL | NULL | ` +
				`2011-06-12T09:10:00Z | NULL | NULL`,
		}},
		{london(t), []string{
			`2: 1 | "Widget \"XL\"" | 4 | 4.25 | true | 2011-10-31 | ` +
				`2011-10-31T10:42:00Z | "007" | "x"`,
			`3: 2 | "Gadget" | NULL | 1 | false | 2011-06-12 | 2011-06-12T08:10:00Z | "12" | NULL`,
			`4: 3 | "Thing, big\nsecond line" | -3 | NULL | NULL | NULL | ` +
				`2011-06-12T08:10:00Z | NULL | NULL`,
		}},
	}
	const wantSchema = "column_1 INTEGER, name STRING, qty INTEGER, price FLOAT, paid BOOLEAN, " +
		"day DATE, at TIMESTAMP, code STRING, note STRING"
	for _, tt := range tests {
		path := filepath.Join(crmDir, "types.csv")
		d, err := crmfile.ReadFile(path, crmfile.Options{Location: tt.loc})
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		if got := renderSchema(d.Schema); got != wantSchema {
			t.Errorf("schema = %s\nwant     %s", got, wantSchema)
		}
		if got := rowsOf(d); !slices.Equal(got, tt.want) {
			t.Errorf("in %s, rows =\n%s\nwant\n%s", tt.loc,
				strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

// ordersRows are the reference fixture's rows worked out by hand; the
// properties keep the file's order.
var ordersRows = []string{
	`1: "A-1001" | "1111111111.1700000001" | 2024-03-01T09:15:00Z | 120.5 | "paid" | ` +
		`[{key="country" value="GB"} {key="city" value="London"} {key="coupon" value="SPRING"}]`,
	`2: "A-1002" | "2222222222.1700000002" | 2024-03-02T14:00:00Z | 80 | "pending" | ` +
		`[{key="country" value="GB"} {key="region" value="Scotland"} {key="city" value="Edinburgh"}]`,
	`3: "A-1003" | NULL | 2024-03-03T23:30:00Z | 15.25 | "confirmed" | []`,
	`4: "A-1004" | "3333333333.1700000004" | 2024-03-05T07:00:00Z | NULL | "cancelled" | ` +
		`[{key="country" value="FR"} {key="channel" value="phone"}]`,
	`5: "A-1001" | "1111111111.1700000001" | 2024-03-06T10:00:00Z | 120.5 | "paid" | ` +
		`[{key="country" value="GB"}]`,
	`7: NULL | "4444444444.1700000006" | 2024-03-07T12:00:00Z | 42 | "paid" | NULL`,
	`8: "A-1007" | "5555555555.1700000007" | 2024-01-15T12:00:00Z | 10 | "paid" | ` +
		`[{key="city" value="Leeds"}]`,
}

const ordersSchema = "id STRING, userId STRING, createdAt TIMESTAMP, orderValue FLOAT, " +
	"orderStatus STRING, properties RECORD REPEATED <key STRING, value STRING>"

// foldOrders folds the CSV fixture's geo and other columns into
// properties.
var foldOrders = map[string]string{
	"country": "country", "region": "region", "city": "city",
	"channel": "channel", "coupon": "coupon",
}

func TestReadOrdersNDJSONInferred(t *testing.T) {
	d, err := crmfile.ReadFile(filepath.Join(crmDir, "orders.ndjson"), crmfile.Options{})
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if got := renderSchema(d.Schema); got != ordersSchema {
		t.Errorf("schema = %s\nwant     %s", got, ordersSchema)
	}
	if got := rowsOf(d); !slices.Equal(got, ordersRows) {
		t.Errorf("rows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(ordersRows, "\n"))
	}
}

// TestReadOrdersCSVFolded reads the same orders from CSV under the schema
// file, folding columns into properties: the values match the NDJSON's,
// apart from the line numbers and the row with no properties at all,
// which CSV gives as an empty array.
func TestReadOrdersCSVFolded(t *testing.T) {
	schema, err := crmfile.ReadSchemaFile(filepath.Join(crmDir, "orders.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := crmfile.ReadFile(filepath.Join(crmDir, "orders.csv"),
		crmfile.Options{Schema: schema, Properties: foldOrders})
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	want := make([]string, len(ordersRows))
	for i, r := range ordersRows {
		_, vals, _ := strings.Cut(r, ": ")
		if rest, ok := strings.CutSuffix(vals, "| NULL"); ok {
			vals = rest + "| []"
		}
		want[i] = vals
	}
	var got []string
	for _, r := range d.Rows {
		got = append(got, renderRow(r.Values))
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if lines := []int{d.Rows[0].Line, d.Rows[6].Line}; lines[0] != 2 || lines[1] != 8 {
		t.Errorf("first and last rows on lines %v, want [2 8]", lines)
	}
}

// TestBadFiles checks that each kind of bad input is reported with its
// file, line and column, and a way out.
func TestBadFiles(t *testing.T) {
	schema, err := crmfile.ReadSchemaFile(filepath.Join(crmDir, "orders.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string // a fixture under testdata/crm, or
		text string // inline content read as name
		opts crmfile.Options
		line int
		col  string
		want string // in the message
	}{
		{name: "ragged row", file: "ragged.csv", line: 3,
			want: "the row has 2 fields but the header has 3"},
		{name: "day-first timestamp under a schema", file: "bad-timestamp.csv",
			opts: crmfile.Options{Schema: schema}, line: 3, col: "createdAt",
			want: `cannot read "31/10/2011 10:42" as TIMESTAMP: write 2006-01-02 15:04:05`},
		{name: "missing required column", file: "missing-column.csv",
			opts: crmfile.Options{Schema: schema}, line: 1, col: "createdAt",
			want: "the schema marks this column REQUIRED but the file lacks it"},
		{name: "thousands separator", file: "bad-number.csv",
			opts: crmfile.Options{Schema: schema}, line: 2, col: "orderValue",
			want: `cannot read "1,234.50" as FLOAT64`},
		{name: "trailing comma in JSON", file: "bad.ndjson", line: 2,
			want: "bad JSON at character"},
		{name: "required column asked for", text: "id,createdAt\nA,2024-01-01\n",
			opts: crmfile.Options{Require: []string{"orderStatus"}}, line: 1, col: "orderStatus",
			want: "required column is missing"},
		{name: "bare quote", text: "id,name\nA,\"x\"y\"\n", line: 2,
			want: `double the quotes inside it ("")`},
		{name: "column not in schema", text: "id,createdAt,orderStatus,extra\nA,2024-01-01,paid,1\n",
			opts: crmfile.Options{Schema: schema}, line: 1, col: "extra",
			want: "the column is not in the schema"},
		{name: "required value empty", text: "id,createdAt,orderStatus\nA,NA,paid\n",
			opts: crmfile.Options{Schema: schema}, line: 2, col: "createdAt",
			want: "the value is empty (NULL) but the schema marks the column REQUIRED"},
		{name: "duplicate header", text: "id,ID\n1,2\n", line: 1, col: "ID",
			want: "have the same name"},
		{name: "fold an absent column", text: "id\n1\n",
			opts: crmfile.Options{Properties: map[string]string{"city": "city"}},
			line: 1, col: "city",
			want: "Properties folds a column the file does not have"},
		{name: "JSON array file", text: `[{"id": 1}]` + "\n", line: 1,
			want: "the line is not a JSON object"},
		{name: "shape changes between lines", text: `{"a": 1}` + "\n" + `{"a": {"b": 1}}` + "\n",
			line: 2, col: "a", want: "an object here, but line 1 has a scalar"},
		{name: "null in array", text: `{"a": [1, null]}` + "\n", line: 1, col: "a[1]",
			want: "null inside an array"},
		{name: "JSON number for a timestamp",
			text: `{"createdAt": 1700000000, "orderStatus": "x"}` + "\n",
			opts: crmfile.Options{Schema: schema}, line: 1, col: "createdAt",
			want: `cannot read "1700000000" as TIMESTAMP`},
		{name: "JSON field not in schema",
			text: `{"createdAt": "2024-01-01", "orderStatus": "x", "z": 1}` + "\n",
			opts: crmfile.Options{Schema: schema}, line: 1, col: "z",
			want: "the field is not in the schema"},
		{name: "empty CSV", text: "", want: "the file is empty"},
		{name: "unknown extension", file: "../crm", want: "cannot tell the format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			name := tt.file
			if tt.file != "" {
				name = filepath.Join(crmDir, tt.file)
				_, err = crmfile.ReadFile(name, tt.opts)
			} else {
				name = "inline.csv"
				if strings.HasPrefix(tt.text, "{") || strings.HasPrefix(tt.text, "[") {
					name = "inline.ndjson"
				}
				_, err = crmfile.Read(strings.NewReader(tt.text), name, tt.opts)
			}
			var e *crmfile.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a *crmfile.Error", err)
			}
			t.Log(e)
			if e.File != name || e.Line != tt.line || e.Column != tt.col {
				t.Errorf("error at %s:%d column %q, want %s:%d column %q",
					e.File, e.Line, e.Column, name, tt.line, tt.col)
			}
			if !strings.Contains(e.Error(), tt.want) {
				t.Errorf("error %q does not say %q", e.Error(), tt.want)
			}
			if e.Fix == "" {
				t.Errorf("error %q says nothing about what to do", e.Error())
			}
		})
	}
}

func TestParseSchemaErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[{"name": "a", "type": "VARCHAR"}]`, `type "VARCHAR" is not supported`},
		{`[{"name": "a b", "type": "STRING"}]`, `"a b" is not a column name`},
		{`[{"name": "a", "type": "STRING", "mode": "OPTIONAL"}]`, `mode "OPTIONAL" is not a mode`},
		{`[{"name": "a", "type": "RECORD"}]`, "a RECORD without fields"},
		{`[{"name": "a", "type": "INT64"}, {"name": "A", "type": "STRING"}]`, "named twice"},
		{`[]`, "the schema has no fields"},
		{`{"nope": 1`, "not a schema"},
	}
	for _, tt := range tests {
		_, err := crmfile.ParseSchema("s.json", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSchema(%s) = %v, want an error saying %q", tt.in, err, tt.want)
		}
	}
	wrapped := `{"schema": {"fields": [{"name": "n", "type": "int64", "mode": "required"}]}}`
	s, err := crmfile.ParseSchema("s.json", []byte(wrapped))
	if err != nil || renderSchema(s) != "n INTEGER REQUIRED" {
		t.Errorf("ParseSchema of a wrapped schema = %s, %v; want n INTEGER REQUIRED",
			renderSchema(s), err)
	}
}

// TestValuesUnderASchema reads one cell as each type a schema may give.
func TestValuesUnderASchema(t *testing.T) {
	tests := []struct {
		typ, cell, want string // want "" for an error
	}{
		{"INT64", " 42 ", "42"},
		{"INT64", "4.0", ""},
		{"INT64", "9223372036854775808", ""},
		{"FLOAT64", "-1.5e2", "-150"},
		{"FLOAT64", "NaN", "NaN"},
		{"FLOAT64", "-Infinity", "-Inf"},
		{"FLOAT64", "1,5", ""},
		{"NUMERIC", "12.50", "12.50"},
		{"NUMERIC", "1/3", ""},
		{"BOOL", "Yes", "true"},
		{"BOOL", "0", "false"},
		{"BOOL", "maybe", ""},
		{"DATE", "2/29/2024", "2024-02-29"},
		{"DATE", "2023-02-29", ""},
		{"DATETIME", "2024-02-29 23:59:58.5", "2024-02-29T23:59:58.500000000"},
		{"TIME", "07:30:00", "07:30:00"},
		{"STRING", " kept as is ", `" kept as is "`},
	}
	for _, tt := range tests {
		in := "createdAt\n\"" + tt.cell + "\"\n"
		opts := withSchema(t, crmfile.Options{}, tt.typ)
		d, err := crmfile.Read(strings.NewReader(in), "t.csv", opts)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%s %q = %s, want an error", tt.typ, tt.cell, render(d.Rows[0].Values[0]))
		case tt.want != "" && err != nil:
			t.Errorf("%s %q: %v", tt.typ, tt.cell, err)
		case tt.want != "":
			if got := render(d.Rows[0].Values[0]); got != tt.want {
				t.Errorf("%s %q = %s, want %s", tt.typ, tt.cell, got, tt.want)
			}
		}
	}
}

// TestHeaderNames checks how header cells become column names.
func TestHeaderNames(t *testing.T) {
	in := "\"\",Order ID,1st,_fivetran_synced,a-b,é\n1,2,3,4,5,6\n"
	d, err := crmfile.Read(strings.NewReader(in), "t.csv", crmfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range d.Schema {
		got = append(got, f.Name)
	}
	want := []string{"column_1", "Order_ID", "_1st", "_fivetran_synced", "a_b", "_"}
	if !slices.Equal(got, want) {
		t.Errorf("column names = %q, want %q", got, want)
	}
}

// TestInferNDJSON infers nested, repeated and mixed fields: a field
// holding both strings and numbers is text, JSON strings are text unless
// dates or timestamps, an object is a RECORD, an array REPEATED.
func TestInferNDJSON(t *testing.T) {
	d, err := crmfile.ReadFile(filepath.Join(crmDir, "types.ndjson"), crmfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const want = "n INTEGER, price STRING, ratio STRING, ok STRING, day DATE, local TIMESTAMP, " +
		"clock STRING, ts TIMESTAMP, tags STRING REPEATED, " +
		"customer RECORD <name STRING, tier INTEGER>"
	if got := renderSchema(d.Schema); got != want {
		t.Errorf("schema = %s\nwant     %s", got, want)
	}
	wantRows := []string{
		`1: 1 | "12.50" | "0.25" | "true" | 2024-02-29 | 2024-02-29T23:59:58Z | "07:30:00" | ` +
			`2024-02-29T23:59:58.123456Z | ["a" "b"] | {name="Ada" tier=2}`,
		`2: 2 | "3" | NULL | "no" | 2024-02-01 | NULL | NULL | NULL | [] | NULL`,
		`3: 3 | NULL | "NaN" | NULL | NULL | NULL | NULL | NULL | NULL | NULL`,
		`4: 4 | NULL | "-Infinity" | NULL | NULL | NULL | NULL | NULL | NULL | NULL`,
	}
	if got := rowsOf(d); !slices.Equal(got, wantRows) {
		t.Errorf("rows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
	}
}

// TestReadOrdersNDJSONWithSchema reads the reference fixture under its
// schema file: the properties objects fold the same way.
func TestReadOrdersNDJSONWithSchema(t *testing.T) {
	schema, err := crmfile.ReadSchemaFile(filepath.Join(crmDir, "orders.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(crmDir, "orders.ndjson")
	d, err := crmfile.ReadFile(path, crmfile.Options{Schema: schema})
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if got := rowsOf(d); !slices.Equal(got, ordersRows) {
		t.Errorf("rows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(ordersRows, "\n"))
	}
}
