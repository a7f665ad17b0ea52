package crmfile_test

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"

	"customconversions.dev/shared/crmfile"
)

// render writes a value the way the tests' expectations are written:
// strings quoted, timestamps in UTC, NULL as NULL, records as {k=v ...}
// with sorted keys, arrays in brackets.
func render(v bigquery.Value) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case civil.Date:
		return x.String()
	case civil.DateTime:
		return x.String()
	case civil.Time:
		return x.String()
	case *big.Rat:
		return x.FloatString(2)
	case []bigquery.Value:
		parts := make([]string, len(x))
		for i, el := range x {
			parts[i] = render(el)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]bigquery.Value:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + render(x[k])
		}
		return "{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// renderRow writes a row's values separated by " | ".
func renderRow(vals []bigquery.Value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = render(v)
	}
	return strings.Join(parts, " | ")
}

// renderSchema writes a schema as "name TYPE" entries, with REPEATED,
// REQUIRED and nested fields spelled out.
func renderSchema(s bigquery.Schema) string {
	parts := make([]string, len(s))
	for i, f := range s {
		p := f.Name + " " + string(f.Type)
		if f.Repeated {
			p += " REPEATED"
		}
		if f.Required {
			p += " REQUIRED"
		}
		if len(f.Schema) > 0 {
			p += " <" + renderSchema(f.Schema) + ">"
		}
		parts[i] = p
	}
	return strings.Join(parts, ", ")
}

// rowsOf renders every row of d, each prefixed by its line.
func rowsOf(d *crmfile.Data) []string {
	out := make([]string, len(d.Rows))
	for i, r := range d.Rows {
		out[i] = fmt.Sprintf("%d: %s", r.Line, renderRow(r.Values))
	}
	return out
}
