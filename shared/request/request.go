// Package request parses and checks the run request that Cloud Scheduler,
// an operator's rerun or a backfill publishes to the run-requests topic.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/civil"

	"customconversions.dev/shared/failure"
)

// MaxWindowDays is the longest window one request may cover. A backfill
// splits longer ranges into several requests.
const MaxWindowDays = 366

// MaxSize is the largest message data accepted, in bytes. A run request is
// a few hundred bytes; anything near this is not one.
const MaxSize = 16 << 10

// Request is a run request as published. Scheduled runs set only ClientID.
type Request struct {
	ClientID     string `json:"client_id"`
	ConversionID string `json:"conversion_id,omitempty"`
	StartDate    string `json:"start_date,omitempty"`
	EndDate      string `json:"end_date,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// Manual reports whether the request names anything beyond the client:
// a conversion, dates or a reason.
func (r Request) Manual() bool {
	return r.ConversionID != "" || r.StartDate != "" || r.EndDate != "" || r.Reason != ""
}

// idRE is what a client or conversion id may be: it becomes part of
// Firestore paths, BigQuery table names, job ids and labels.
var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// CheckID returns an error when id is not a valid client or conversion id.
// what names the field for the message.
func CheckID(what, id string) error {
	if idRE.MatchString(id) {
		return nil
	}
	return fmt.Errorf("%s %q is not valid: use 1 to 40 lowercase letters, digits, "+
		"_ or -, starting with a letter or digit", what, truncate(id, 60))
}

// Parse decodes and checks message data. Every error it returns is
// permanent: it says what was wrong with the message.
func Parse(data []byte) (Request, error) {
	r, err := parse(data)
	return r, failure.Permanent(err)
}

func parse(data []byte) (Request, error) {
	if len(data) == 0 {
		return Request{}, errors.New(`request: empty message: publish JSON such as {"client_id": "acme"}`)
	}
	if len(data) > MaxSize {
		return Request{}, fmt.Errorf("request: message is %d bytes, more than the %d a run request may be", len(data), MaxSize)
	}
	if !utf8.Valid(data) {
		return Request{}, errors.New("request: message is not UTF-8 text: publish JSON")
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Request
	if err := dec.Decode(&r); err != nil {
		return Request{}, fmt.Errorf("request: %s; want JSON such as "+
			`{"client_id": "acme", "conversion_id": "orders", "start_date": "2026-01-01", "end_date": "2026-01-31"}`,
			describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, errors.New("request: text after the JSON object: publish one object per message")
	}

	if r.ClientID == "" {
		return Request{}, errors.New("request: client_id is missing")
	}
	if err := CheckID("client_id", r.ClientID); err != nil {
		return Request{}, fmt.Errorf("request: %w", err)
	}
	if r.ConversionID != "" {
		if err := CheckID("conversion_id", r.ConversionID); err != nil {
			return Request{}, fmt.Errorf("request: %w", err)
		}
	}
	if len(r.Reason) > 500 {
		return Request{}, errors.New("request: reason is longer than 500 characters")
	}
	for _, d := range []struct{ name, v string }{{"start_date", r.StartDate}, {"end_date", r.EndDate}} {
		if d.v == "" {
			continue
		}
		if _, err := parseDate(d.v); err != nil {
			return Request{}, fmt.Errorf("request: %s %q: %w", d.name, truncate(d.v, 40), err)
		}
	}
	return r, nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return fmt.Sprintf("message is a JSON %s, not an object", typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %s must be a %s, not a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("message is not valid JSON (at byte %d: %v)", syntaxErr.Offset, syntaxErr)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("unknown field %s: the fields are client_id, conversion_id, start_date, end_date and reason",
			strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "message ends before its JSON object does"
	}
	return fmt.Sprintf("message is not a JSON object (%v)", err)
}

func parseDate(s string) (civil.Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return civil.Date{}, errors.New("not a calendar date in the form YYYY-MM-DD")
	}
	if t.Year() < 1 {
		return civil.Date{}, errors.New("before 0001-01-01, the first day a BigQuery DATE holds")
	}
	return civil.DateOf(t), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
