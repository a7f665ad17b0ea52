package crmfile

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"customconversions.dev/shared/contract"
)

// kind is a set of column types a value can be read as.
type kind uint8

const (
	kBool kind = 1 << iota
	kInt
	kFloat
	kDate
	kTimestamp
	kString

	kAll = kBool | kInt | kFloat | kDate | kTimestamp | kString
)

// inferOrder is the order in which inference picks a column's type: the
// narrowest type every value of the column can be read as.
var inferOrder = []struct {
	k kind
	t bigquery.FieldType
}{
	{kBool, bigquery.BooleanFieldType},
	{kInt, bigquery.IntegerFieldType},
	{kFloat, bigquery.FloatFieldType},
	{kDate, bigquery.DateFieldType},
	{kTimestamp, bigquery.TimestampFieldType},
	{kString, bigquery.StringFieldType},
}

// pick returns the type inference chooses for a column whose values can
// all be read as any kind in k.
func (k kind) pick() bigquery.FieldType {
	for _, o := range inferOrder {
		if k&o.k != 0 {
			return o.t
		}
	}
	return bigquery.StringFieldType
}

var (
	intRE   = regexp.MustCompile(`^[+-]?[0-9]+$`)
	floatRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
)

// textKinds returns the types a text cell can be read as. Integers with a
// leading zero (zip codes, padded ids) and integers too large for INT64
// are text only, so that inference never loses their digits.
func textKinds(s string) kind {
	t := strings.TrimSpace(s)
	switch {
	case strings.EqualFold(t, "true") || strings.EqualFold(t, "false"):
		return kBool | kString
	case intRE.MatchString(t):
		digits := strings.TrimLeft(t, "+-")
		if len(digits) > 1 && digits[0] == '0' {
			return kString
		}
		if _, err := strconv.ParseInt(t, 10, 64); err != nil {
			return kString
		}
		return kInt | kFloat | kString
	case floatRE.MatchString(t):
		return kFloat | kString
	}
	if _, ok := parseDate(t); ok {
		return kDate | kTimestamp | kString
	}
	if _, ok := parseTimestamp(t, time.UTC); ok {
		return kTimestamp | kString
	}
	return kString
}

// Zone-less timestamp layouts, read in the caller's time zone. A
// fractional second after the seconds is accepted by every layout that
// has seconds.
var localLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"1/2/2006 15:04:05",
	"1/2/2006 15:04",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
}

// Timestamp layouts that carry their own offset.
var zonedLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02 15:04:05Z0700",
}

// timestampForms lists the accepted forms for error messages.
const timestampForms = "write 2006-01-02 15:04:05, RFC 3339 (2006-01-02T15:04:05Z or " +
	"with an offset) or US month/day/year 10/31/2011 10:42; day/month/year is not read"

// parseTimestamp reads the accepted timestamp forms; zone-less ones are in
// loc. A date alone is midnight in loc.
func parseTimestamp(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutSuffix(s, " UTC"); ok {
		s, loc = rest, time.UTC
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	if d, ok := parseDate(s); ok {
		return d.In(loc), true
	}
	return time.Time{}, false
}

// parseDate reads 2006-01-02 and US 1/2/2006.
func parseDate(s string) (civil.Date, bool) {
	s = strings.TrimSpace(s)
	for _, l := range []string{"2006-01-02", "1/2/2006"} {
		if t, err := time.Parse(l, s); err == nil {
			return civil.DateOf(t), true
		}
	}
	return civil.Date{}, false
}

// specialFloat reads NaN, Infinity and -Infinity (any case; inf too),
// which a given FLOAT64 schema accepts and inference never picks.
func specialFloat(s string) (float64, bool) {
	switch strings.ToLower(s) {
	case "nan":
		return math.NaN(), true
	case "infinity", "inf", "+infinity", "+inf":
		return math.Inf(1), true
	case "-infinity", "-inf":
		return math.Inf(-1), true
	}
	return 0, false
}

// parseBool reads true/false, t/f, yes/no, y/n and 1/0, in any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "yes", "y", "1":
		return true, true
	case "false", "f", "no", "n", "0":
		return false, true
	}
	return false, false
}

// convertText reads a non-null text value as field type t. On failure it
// returns the problem and what to do about it.
func convertText(s string, t bigquery.FieldType, loc *time.Location) (bigquery.Value, *Error) {
	bad := func(fix string) *Error {
		return &Error{Problem: fmt.Sprintf("cannot read %q as %s", s, contract.SQLType(t)), Fix: fix}
	}
	trimmed := strings.TrimSpace(s)
	switch t {
	case bigquery.StringFieldType:
		return s, nil
	case bigquery.IntegerFieldType:
		if !intRE.MatchString(trimmed) {
			return nil, bad("write a whole number without separators, " +
				"or make the column FLOAT64 or STRING")
		}
		n, err := strconv.ParseInt(trimmed, 10, 64)
		if err != nil {
			return nil, bad("the number is out of INT64's range: make the column NUMERIC or STRING")
		}
		return n, nil
	case bigquery.FloatFieldType:
		if f, ok := specialFloat(trimmed); ok {
			return f, nil
		}
		if !floatRE.MatchString(trimmed) {
			return nil, bad("write a decimal number like 12.5 or 1e3, with . for the decimal point " +
				"and no thousands separator")
		}
		f, err := strconv.ParseFloat(trimmed, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, bad("the number is out of FLOAT64's range")
		}
		return f, nil
	case bigquery.NumericFieldType, bigquery.BigNumericFieldType:
		r, ok := new(big.Rat).SetString(trimmed)
		if !floatRE.MatchString(trimmed) || !ok {
			return nil, bad("write a decimal number like 12.50")
		}
		return r, nil
	case bigquery.BooleanFieldType:
		b, ok := parseBool(trimmed)
		if !ok {
			return nil, bad("write true or false (or 1/0, yes/no)")
		}
		return b, nil
	case bigquery.TimestampFieldType:
		ts, ok := parseTimestamp(trimmed, loc)
		if !ok {
			return nil, bad(timestampForms)
		}
		return ts, nil
	case bigquery.DateFieldType:
		d, ok := parseDate(trimmed)
		if !ok {
			return nil, bad("write 2006-01-02 or US month/day/year 10/31/2011")
		}
		return d, nil
	case bigquery.DateTimeFieldType:
		dt, err := civil.ParseDateTime(strings.Replace(trimmed, " ", "T", 1))
		if err != nil {
			return nil, bad("write 2006-01-02 15:04:05")
		}
		return dt, nil
	case bigquery.TimeFieldType:
		tm, err := civil.ParseTime(trimmed)
		if err != nil {
			return nil, bad("write 15:04:05")
		}
		return tm, nil
	}
	return nil, &Error{Problem: fmt.Sprintf("a %s column cannot be read from text", contract.SQLType(t)),
		Fix: "give the column a scalar type in the schema"}
}
