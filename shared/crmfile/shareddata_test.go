package crmfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"customconversions.dev/shared/crmfile"
)

// sharedData is the project's folder of real CRM samples, beside the
// repository (../shared/data from its root); the files are never copied
// in.
const sharedData = "../../../shared/data"

// sharedFile returns the path of a sample, skipping the test when the
// folder is not there (a checkout without it).
func sharedFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(sharedData, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("sample %s is not beside the repository (%v): it lives in ../shared/data", name, err)
	}
	return p
}

// column returns the index of name in d's schema.
func column(t *testing.T, d *crmfile.Data, name string) int {
	t.Helper()
	for i, f := range d.Schema {
		if f.Name == name {
			return i
		}
	}
	t.Fatalf("no column %s in %s", name, renderSchema(d.Schema))
	return -1
}

// count returns how many rows of d have a value in column col for which
// keep is true.
func count(d *crmfile.Data, col int, keep func(bigquery.Value) bool) int {
	n := 0
	for _, r := range d.Rows {
		if keep(r.Values[col]) {
			n++
		}
	}
	return n
}

func isNil(v bigquery.Value) bool { return v == nil }

// TestOnlineRetailSample checks the R-written UCI sample against facts
// counted apart with another CSV reader: 2,709 records, 668 NA
// customers, 8 empty descriptions, 50 cancellation invoices (C...), 57
// negative quantities summing with the rest to 24,135, 11 zero prices.
func TestOnlineRetailSample(t *testing.T) {
	path := sharedFile(t, "online-retail-sample.csv")
	d, err := crmfile.ReadFile(path, crmfile.Options{Location: london(t)})
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	const wantSchema = "column_1 INTEGER, InvoiceNo STRING, StockCode STRING, Description STRING, " +
		"Quantity INTEGER, InvoiceDate TIMESTAMP, UnitPrice FLOAT, CustomerID INTEGER, Country STRING"
	if got := renderSchema(d.Schema); got != wantSchema {
		t.Errorf("schema = %s\nwant     %s", got, wantSchema)
	}
	if len(d.Rows) != 2709 {
		t.Fatalf("%d rows, want 2709", len(d.Rows))
	}

	qty := column(t, d, "Quantity")
	sum := int64(0)
	for _, r := range d.Rows {
		sum += r.Values[qty].(int64)
	}
	facts := []struct {
		what      string
		got, want int
	}{
		{"NULL CustomerID", count(d, column(t, d, "CustomerID"), isNil), 668},
		{"NULL Description", count(d, column(t, d, "Description"), isNil), 8},
		{"cancellations", count(d, column(t, d, "InvoiceNo"), func(v bigquery.Value) bool {
			return strings.HasPrefix(v.(string), "C")
		}), 50},
		{"negative Quantity", count(d, qty, func(v bigquery.Value) bool {
			return v.(int64) < 0
		}), 57},
		{"zero UnitPrice", count(d, column(t, d, "UnitPrice"), func(v bigquery.Value) bool {
			return v.(float64) == 0
		}), 11},
		{"sum of Quantity", int(sum), 24135},
	}
	for _, f := range facts {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.what, f.got, f.want)
		}
	}

	// Line 2, "10/31/2011 10:42" UK time: GMT, since BST ended on 30 Oct.
	// Line 5, a doubled quote inside a description.
	first := d.Rows[0]
	if got := render(first.Values[column(t, d, "InvoiceDate")]); got != "2011-10-31T10:42:00Z" {
		t.Errorf("first InvoiceDate = %s, want 2011-10-31T10:42:00Z", got)
	}
	const quoted = `FLOWER GLASS GARLD NECKL36"AMETHYST`
	if got := d.Rows[3].Values[column(t, d, "Description")]; got != quoted {
		t.Errorf("line %d Description = %q, want the doubled quote read as one", d.Rows[3].Line, got)
	}
}

// TestShopifyOrders checks the Fivetran Shopify seed: a byte-order mark,
// 67 columns, 8 records, fractional timestamps with a trailing space, and
// columns that are empty in every record.
func TestShopifyOrders(t *testing.T) {
	path := sharedFile(t, "shopify-orders.csv")
	d, err := crmfile.ReadFile(path, crmfile.Options{})
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if len(d.Schema) != 67 || len(d.Rows) != 8 {
		t.Fatalf("%d columns and %d rows, want 67 and 8", len(d.Schema), len(d.Rows))
	}
	if d.Schema[0].Name != "id" {
		t.Errorf("first column %q, want id (byte-order mark stripped)", d.Schema[0].Name)
	}
	types := map[string]bigquery.FieldType{
		"id":                       bigquery.IntegerFieldType,
		"taxes_included":           bigquery.BooleanFieldType,
		"total_price":              bigquery.FloatFieldType,
		"created_at":               bigquery.TimestampFieldType,
		"_fivetran_synced":         bigquery.TimestampFieldType,
		"cancelled_at":             bigquery.StringFieldType, // always empty
		"total_shipping_price_set": bigquery.StringFieldType,
		"location_id":              bigquery.IntegerFieldType,
	}
	for name, want := range types {
		if got := d.Schema[column(t, d, name)].Type; got != want {
			t.Errorf("column %s inferred as %s, want %s", name, got, want)
		}
	}
	nulls := map[string]int{"note": 7, "cancelled_at": 8, "location_id": 3,
		"total_shipping_price_set": 2, "shipping_address_city": 5, "fulfillment_status": 6}
	for name, want := range nulls {
		if got := count(d, column(t, d, name), isNil); got != want {
			t.Errorf("NULL %s = %d, want %d", name, got, want)
		}
	}
	synced := d.Rows[0].Values[column(t, d, "_fivetran_synced")].(time.Time)
	if want := time.Date(2020, 9, 12, 0, 15, 10, 199e6, time.UTC); !synced.Equal(want) {
		t.Errorf("first _fivetran_synced = %s, want %s", synced, want)
	}
	if got := d.Rows[3].Values[column(t, d, "currency")]; got != "USD" {
		t.Errorf("line %d currency = %v, want USD", d.Rows[3].Line, got)
	}
}
