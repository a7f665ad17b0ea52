package contract

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
)

// reference is DESIGN.md's reference definition with its table renamed.
const reference = `SELECT id, userId AS client_id, createdAt AS created,
  orderValue AS value, 'GBP' AS currency,
  IF(orderStatus IN ('confirmed', 'paid'), TRUE, FALSE) AS is_qualified,
  ARRAY(SELECT AS STRUCT * FROM UNNEST(properties)
        WHERE key IN ('country', 'region', 'city')) AS params
FROM ` + "`crm.orders`" + `
WHERE DATE(createdAt) BETWEEN DATE_SUB(@start_date, INTERVAL 30 DAY)
  AND @end_date`

func TestCheckStatement(t *testing.T) {
	tests := []struct {
		name, sql, wantErr string
	}{
		{"reference", reference, ""},
		{"with", "WITH a AS (SELECT 1 AS x) SELECT x FROM a", ""},
		{"parenthesised", "(SELECT 1) UNION ALL (SELECT 2)", ""},
		{"trailing semicolon", "SELECT 1;\n-- done\n", ""},
		{"semicolon in string", "SELECT 'a;b' AS id, \"@x\" AS y, `we;ird` FROM t", ""},
		{"semicolon in comment", "SELECT 1 /* a; b @c */ -- ; @d\n# @e ;\nFROM t", ""},
		{"raw string", `SELECT r'\'' AS a, r"\d+" AS b, @start_date`, ""},
		// GoogleSQL: "Unclosed raw string literal" (a backslash keeps the
		// quote after it, even in a raw string).
		{"raw string ends in a backslash", `SELECT r'\' AS a, @start_date`, "never closed"},
		{"raw string hides a statement", `SELECT r'\'' AS x; DELETE FROM t WHERE TRUE -- '`,
			"more than one statement"},
		{"triple quoted hides a statement", `SELECT '''a\'''' AS x; DELETE FROM t WHERE TRUE -- '`,
			"more than one statement"},
		{"triple quoted", "SELECT '''it's; @x''' AS a", ""},
		{"upper-case parameter", "SELECT @START_DATE", ""},
		{"delete", "DELETE FROM crm.orders WHERE TRUE", "starts with DELETE"},
		{"insert", "  insert into t select 1", "starts with insert"},
		{"create", "CREATE TABLE x AS SELECT 1", "starts with CREATE"},
		{"merge", "MERGE t USING s ON TRUE WHEN MATCHED THEN DELETE", "starts with MERGE"},
		{"declare", "DECLARE x INT64; SELECT x", "starts with DECLARE"},
		{"execute immediate", "EXECUTE IMMEDIATE 'DROP TABLE t'", "starts with EXECUTE"},
		{"begin", "BEGIN SELECT 1; END", "starts with BEGIN"},
		{"two statements", "SELECT 1;\nSELECT 2", "more than one statement (a ';' at line 1)"},
		{"select then delete", "SELECT 1; DELETE FROM t WHERE TRUE", "more than one statement"},
		{"third parameter", "SELECT @start_date, @client, @end_date, @client", "unknown query parameter @client:"},
		{"system variable", "SELECT @@project_id", "system variable @@project_id"},
		{"empty", "  -- nothing\n", "the SQL is empty"},
		{"open comment", "SELECT 1 /* oops", "never closed"},
		{"open string", "SELECT 'abc", "a ' opened at line 1 is never closed"},
		{"string across lines", "SELECT 'abc\ndef'", "runs past the end of its line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStatement(tt.sql)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckStatement(%q) = %v; want nil", tt.sql, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckStatement(%q) = %v; want an error containing %q", tt.sql, err, tt.wantErr)
			}
		})
	}
}

func TestBody(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT 1;\n-- end", "SELECT 1"},
		{"SELECT ';' AS a ;", "SELECT ';' AS a "},
	}
	for _, tt := range tests {
		if got := Body(tt.in); got != tt.want {
			t.Errorf("Body(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func field(name string, t bigquery.FieldType) *bigquery.FieldSchema {
	return &bigquery.FieldSchema{Name: name, Type: t}
}

var paramsField = &bigquery.FieldSchema{Name: "params", Type: bigquery.RecordFieldType, Repeated: true,
	Schema: bigquery.Schema{field("key", bigquery.StringFieldType), field("value", bigquery.StringFieldType)}}

func TestCheckSchema(t *testing.T) {
	str, i64, ts := bigquery.StringFieldType, bigquery.IntegerFieldType, bigquery.TimestampFieldType
	tests := []struct {
		name     string
		schema   bigquery.Schema
		want     Shape
		wantErrs []string
	}{
		{"reference", bigquery.Schema{field("id", str), field("client_id", str), field("created", ts),
			field("value", bigquery.FloatFieldType), field("currency", str),
			field("is_qualified", bigquery.BooleanFieldType), paramsField},
			Shape{"id": str, "client_id": str, "created": ts, "value": bigquery.FloatFieldType,
				"currency": str, "is_qualified": bigquery.BooleanFieldType, "params": bigquery.RecordFieldType},
			nil},
		{"created only, upper case", bigquery.Schema{field("CREATED", bigquery.DateFieldType)},
			Shape{"created": bigquery.DateFieldType}, nil},
		{"casts", bigquery.Schema{field("id", i64), field("user_id", i64), field("created", bigquery.DateTimeFieldType),
			field("value", bigquery.NumericFieldType)},
			Shape{"id": i64, "user_id": i64, "created": bigquery.DateTimeFieldType, "value": bigquery.NumericFieldType}, nil},
		{"created missing", bigquery.Schema{field("id", str)}, nil,
			[]string{"column created is missing: it is required (TIMESTAMP (or DATE, DATETIME, converted))"}},
		{"created as string", bigquery.Schema{field("created", str)}, nil,
			[]string{"column created is STRING: it must be TIMESTAMP (or DATE, DATETIME, converted)"}},
		{"misspelt clientid", bigquery.Schema{field("created", ts), field("clientid", str)}, nil,
			[]string{"column clientid is not in the output contract (did you mean client_id?"}},
		{"created_at", bigquery.Schema{field("created_at", ts)}, nil,
			[]string{"column created_at is not in the output contract (did you mean created?",
				"column created is missing"}},
		{"far off", bigquery.Schema{field("created", ts), field("zzz", str)}, nil,
			[]string{"column zzz is not in the output contract (the columns are id, client_id"}},
		{"twice", bigquery.Schema{field("created", ts), field("Created", ts)}, nil,
			[]string{"column Created appears twice"}},
		{"value as string", bigquery.Schema{field("created", ts), field("value", str)}, nil,
			[]string{"column value is STRING: it must be FLOAT64 (or INT64, NUMERIC, BIGNUMERIC, converted)"}},
		{"repeated id", bigquery.Schema{field("created", ts),
			{Name: "id", Type: str, Repeated: true}}, nil,
			[]string{"column id is an ARRAY: it must be a single STRING (or INT64, converted)"}},
		{"params as string", bigquery.Schema{field("created", ts), field("params", str)}, nil,
			[]string{"column params is STRING: it must be ARRAY<STRUCT<key STRING, value STRING>>"}},
		{"params with a number", bigquery.Schema{field("created", ts), {Name: "params",
			Type: bigquery.RecordFieldType, Repeated: true,
			Schema: bigquery.Schema{field("key", str), field("value", i64)}}}, nil,
			[]string{"column params has field value INT64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckSchema(tt.schema)
			if len(tt.wantErrs) == 0 {
				if err != nil || len(got) != len(tt.want) {
					t.Fatalf("CheckSchema = %v, %v; want %v", got, err, tt.want)
				}
				for k, v := range tt.want {
					if got[k] != v {
						t.Errorf("shape[%s] = %s; want %s", k, got[k], v)
					}
				}
				return
			}
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("CheckSchema error = %v; want ErrSchema", err)
			}
			for _, w := range tt.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckSchema error = %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"clientid", "client_id"},
		{"Client-ID", "client_id"},
		{"userid", "user_id"},
		{"created_at", "created"},
		{"createdAt", "created"},
		{"curency", "currency"},
		{"qualified", "is_qualified"},
		{"vaule", "value"},
		{"param", "params"},
		{"ts", ""},
		{"status", ""},
		{"order_total", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.in); got != tt.want {
			t.Errorf("Suggest(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestCurrencyCodesSorted(t *testing.T) {
	if !slices.IsSorted(CurrencyCodes) {
		t.Fatal("CurrencyCodes must stay sorted: IsCurrency searches it")
	}
	for _, c := range []string{"GBP", "USD", "EUR", "JPY", "ZWL", "AED"} {
		if !IsCurrency(c) {
			t.Errorf("IsCurrency(%q) = false; want true", c)
		}
	}
	for _, c := range []string{"XXX", "XTS", "gbp", "UK", "EURO", ""} {
		if IsCurrency(c) {
			t.Errorf("IsCurrency(%q) = true; want false", c)
		}
	}
}

func TestHash(t *testing.T) {
	// printf 'SELECT 1' | sha256sum starts e004ebd5b5532a4b.
	if got, want := Hash("SELECT 1"), "e004ebd5b5532a4b"; got != want {
		t.Errorf("Hash(SELECT 1) = %q; want %q", got, want)
	}
}
