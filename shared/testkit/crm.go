package testkit

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
)

// Property is one entry of an order's properties.
type Property struct {
	Key   string `bigquery:"key"`
	Value string `bigquery:"value"`
}

// Order is a row of the reference definition's CRM table.
type Order struct {
	ID          bigquery.NullString  `bigquery:"id"`
	UserID      bigquery.NullString  `bigquery:"userId"`
	CreatedAt   time.Time            `bigquery:"createdAt"`
	OrderValue  bigquery.NullFloat64 `bigquery:"orderValue"`
	OrderStatus string               `bigquery:"orderStatus"`
	Properties  []Property           `bigquery:"properties"`
}

// OrdersSchema is the CRM table's schema.
var OrdersSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.StringFieldType},
	{Name: "userId", Type: bigquery.StringFieldType},
	{Name: "createdAt", Type: bigquery.TimestampFieldType},
	{Name: "orderValue", Type: bigquery.FloatFieldType},
	{Name: "orderStatus", Type: bigquery.StringFieldType},
	{Name: "properties", Type: bigquery.RecordFieldType, Repeated: true, Schema: bigquery.Schema{
		{Name: "key", Type: bigquery.StringFieldType},
		{Name: "value", Type: bigquery.StringFieldType},
	}},
}

// Str returns a non-NULL string.
func Str(s string) bigquery.NullString { return bigquery.NullString{StringVal: s, Valid: true} }

// Num returns a non-NULL float.
func Num(f float64) bigquery.NullFloat64 { return bigquery.NullFloat64{Float64: f, Valid: true} }

// LoadOrders creates table in ds and streams orders into it.
func LoadOrders(t testing.TB, ds *bigquery.Dataset, table string, orders []Order) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tb := ds.Table(table)
	if err := tb.Create(ctx, &bigquery.TableMetadata{Schema: OrdersSchema}); err != nil {
		t.Fatalf("creating %s: %v", table, err)
	}
	if len(orders) == 0 {
		return
	}
	if err := tb.Inserter().Put(ctx, orders); err != nil {
		t.Fatalf("loading %s: %v", table, err)
	}
}

// Props returns properties from key, value pairs.
func Props(kv ...string) []Property {
	var ps []Property
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, Property{Key: kv[i], Value: kv[i+1]})
	}
	return ps
}
