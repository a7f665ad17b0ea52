// Package contract is the output contract of a definition's SQL: the
// columns a custom conversion returns, the types accepted for each, the
// statement and parameter rules, and the extraction query that wraps a
// definition so that one scan types, checks and fingerprints every row.
package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"cloud.google.com/go/bigquery"
)

// Column is one column of the output contract.
type Column struct {
	Name string
	// Type is the type the column has once read: the staged rows carry it.
	Type bigquery.FieldType
	// Accept lists the types a definition may return for it; each converts
	// without loss (or, for DATE and DATETIME created, in the client's
	// time zone).
	Accept []bigquery.FieldType
	// Required columns must be present.
	Required bool
}

// Columns is the output contract, in its documented order.
var Columns = []Column{
	{Name: "id", Type: bigquery.StringFieldType,
		Accept: []bigquery.FieldType{bigquery.StringFieldType, bigquery.IntegerFieldType}},
	{Name: "client_id", Type: bigquery.StringFieldType,
		Accept: []bigquery.FieldType{bigquery.StringFieldType}},
	{Name: "created", Type: bigquery.TimestampFieldType, Required: true,
		Accept: []bigquery.FieldType{bigquery.TimestampFieldType, bigquery.DateFieldType,
			bigquery.DateTimeFieldType}},
	{Name: "value", Type: bigquery.FloatFieldType,
		Accept: []bigquery.FieldType{bigquery.FloatFieldType, bigquery.IntegerFieldType,
			bigquery.NumericFieldType, bigquery.BigNumericFieldType}},
	{Name: "currency", Type: bigquery.StringFieldType,
		Accept: []bigquery.FieldType{bigquery.StringFieldType}},
	{Name: "is_qualified", Type: bigquery.BooleanFieldType,
		Accept: []bigquery.FieldType{bigquery.BooleanFieldType}},
	{Name: "params", Type: bigquery.RecordFieldType,
		Accept: []bigquery.FieldType{bigquery.RecordFieldType}},
	{Name: "user_id", Type: bigquery.StringFieldType,
		Accept: []bigquery.FieldType{bigquery.StringFieldType, bigquery.IntegerFieldType}},
}

// Shape is what a definition returns: for each contract column present,
// the type it has. A column absent from Shape is read as NULL.
type Shape map[string]bigquery.FieldType

// ErrSchema marks a definition whose output does not fit the contract.
var ErrSchema = errors.New("contract: output does not fit the contract")

// CheckSchema checks a definition's result schema against the contract
// and returns its shape. The error lists every problem found, each naming
// the column and what to do, and matches ErrSchema.
func CheckSchema(schema bigquery.Schema) (Shape, error) {
	shape := Shape{}
	var problems []string
	seen := map[string]bool{}
	for _, f := range schema {
		name := strings.ToLower(f.Name)
		if seen[name] {
			problems = append(problems, fmt.Sprintf("column %s appears twice", f.Name))
			continue
		}
		seen[name] = true

		col, ok := column(name)
		if !ok {
			problems = append(problems, unknownColumn(f.Name))
			continue
		}
		if p := checkType(col, f); p != "" {
			problems = append(problems, p)
			continue
		}
		shape[col.Name] = f.Type
	}
	for _, col := range Columns {
		if col.Required && !seen[col.Name] {
			problems = append(problems, fmt.Sprintf("column %s is missing: it is required (%s)",
				col.Name, typeName(col)))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrSchema, strings.Join(problems, "; "))
	}
	return shape, nil
}

func column(name string) (Column, bool) {
	for _, c := range Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

func checkType(col Column, f *bigquery.FieldSchema) string {
	if col.Name == "params" {
		return checkParams(f)
	}
	if f.Repeated {
		return fmt.Sprintf("column %s is an ARRAY: it must be a single %s", f.Name, typeName(col))
	}
	for _, t := range col.Accept {
		if f.Type == t {
			return ""
		}
	}
	return fmt.Sprintf("column %s is %s: it must be %s", f.Name, SQLType(f.Type), typeName(col))
}

func checkParams(f *bigquery.FieldSchema) string {
	const want = "ARRAY<STRUCT<key STRING, value STRING>>"
	if f.Type != bigquery.RecordFieldType || !f.Repeated {
		return fmt.Sprintf("column %s is %s: it must be %s", f.Name, describe(f), want)
	}
	var keys []string
	for _, sub := range f.Schema {
		n := strings.ToLower(sub.Name)
		if (n != "key" && n != "value") || sub.Type != bigquery.StringFieldType || sub.Repeated {
			return fmt.Sprintf("column %s has field %s %s: it must be %s", f.Name, sub.Name,
				describe(sub), want)
		}
		keys = append(keys, n)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "key,value" {
		return fmt.Sprintf("column %s has fields (%s): it must be %s", f.Name, strings.Join(keys, ", "), want)
	}
	return ""
}

func describe(f *bigquery.FieldSchema) string {
	if f.Repeated {
		return "ARRAY<" + SQLType(f.Type) + ">"
	}
	return SQLType(f.Type)
}

// typeName names the types col accepts, as a person writes them in SQL.
func typeName(col Column) string {
	if col.Name == "params" {
		return "ARRAY<STRUCT<key STRING, value STRING>>"
	}
	names := make([]string, len(col.Accept))
	for i, t := range col.Accept {
		names[i] = SQLType(t)
	}
	if len(names) == 1 {
		return names[0]
	}
	return names[0] + " (or " + strings.Join(names[1:], ", ") + ", converted)"
}

// SQLType returns GoogleSQL's name for a type the client library names.
func SQLType(t bigquery.FieldType) string {
	switch t {
	case bigquery.IntegerFieldType:
		return "INT64"
	case bigquery.FloatFieldType:
		return "FLOAT64"
	case bigquery.BooleanFieldType:
		return "BOOL"
	case bigquery.RecordFieldType:
		return "STRUCT"
	}
	return string(t)
}

// unknownColumn explains a column that is not in the contract, naming the
// contract column it was probably meant to be when one is close.
func unknownColumn(name string) string {
	msg := fmt.Sprintf("column %s is not in the output contract", name)
	if s := Suggest(name); s != "" {
		return msg + fmt.Sprintf(" (did you mean %s? alias it: ... AS %s)", s, s)
	}
	var all []string
	for _, c := range Columns {
		all = append(all, c.Name)
	}
	return msg + " (the columns are " + strings.Join(all, ", ") + "; drop it or alias it to one of them)"
}

// Suggest returns the contract column name closest to name, or "" when
// none is close: the same letters once case, '_' and '-' are ignored, an
// edit distance of at most 2 (and under half the name's length), or a contract name with a common suffix
// such as created_at.
func Suggest(name string) string {
	n := normalize(name)
	best, bestDist := "", 3
	for _, c := range Columns {
		cn := normalize(c.Name)
		if n == cn {
			return c.Name
		}
		for _, suffix := range []string{"at", "time", "date", "ts", "id"} {
			if n == cn+suffix && len(cn) >= 5 {
				return c.Name
			}
		}
		if d := distance(n, cn); d < bestDist && 2*d < len(cn) {
			best, bestDist = c.Name, d
		}
	}
	return best
}

func normalize(s string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Hash returns the definition hash recorded with each run: the first 16
// hex digits of the SHA-256 of the SQL text.
func Hash(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(sum[:8])
}
