package request

import (
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/civil"

	"customconversions.dev/shared/failure"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    Request
		wantErr string // substring of the error; empty when none is expected
	}{
		{"scheduled", `{"client_id": "acme"}`, Request{ClientID: "acme"}, ""},
		{"manual", `{"client_id":"acme","conversion_id":"paid-orders","start_date":"2026-01-01",` +
			`"end_date":"2026-01-31","reason":"fix"}`,
			Request{"acme", "paid-orders", "2026-01-01", "2026-01-31", "fix"}, ""},
		{"empty", ``, Request{}, "empty message"},
		{"not json", `client=acme`, Request{}, "not valid JSON"},
		{"truncated", `{"client_id": "acme"`, Request{}, "ends before"},
		{"unknown field", `{"client_id": "acme", "attempt": 2}`, Request{}, `unknown field "attempt"`},
		{"wrong type", `{"client_id": 7}`, Request{}, "client_id must be a string"},
		{"two objects", `{"client_id":"a1"}{"client_id":"b2"}`, Request{}, "text after"},
		{"no client", `{"conversion_id": "x"}`, Request{}, "client_id is missing"},
		{"path in client", `{"client_id": "../acme"}`, Request{}, "client_id \"../acme\" is not valid"},
		{"quote in conversion", `{"client_id": "acme", "conversion_id": "a' OR 1=1"}`, Request{}, "conversion_id"},
		{"upper case", `{"client_id": "Acme"}`, Request{}, "is not valid"},
		{"feb 30", `{"client_id": "acme", "start_date": "2026-02-30"}`, Request{}, "not a calendar date"},
		{"year 0", `{"client_id": "acme", "start_date": "0000-12-31"}`, Request{}, "before 0001-01-01"},
		{"slashes", `{"client_id": "acme", "end_date": "01/02/2026"}`, Request{}, "YYYY-MM-DD"},
		{"array", `[1,2]`, Request{}, "is a JSON array, not an object"},
		{"null", `null`, Request{}, "client_id is missing"},
		{"huge", `{"client_id": "acme", "reason": "` + strings.Repeat("x", MaxSize) + `"}`, Request{}, "bytes, more than"},
		{"latin1", "{\"client_id\": \"acme\xe9\"}", Request{}, "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.data))
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Parse(%q) = %+v, %v; want %+v, nil", tt.data, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v; want one containing %q", tt.data, err, tt.wantErr)
			}
			if !failure.IsPermanent(err) {
				t.Errorf("Parse(%q) error %v is not permanent", tt.data, err)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) civil.Date {
		v, err := civil.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2026-03-10 03:30 UTC is still 2026-03-09 19:30 in Los Angeles (PDT
	// from 8 March, UTC-7) and 2026-03-10 03:30 in London (GMT).
	now := time.Date(2026, 3, 10, 3, 30, 0, 0, time.UTC)

	tests := []struct {
		name    string
		r       Request
		loc     *time.Location
		want    Window
		wantErr string
	}{
		{"yesterday london", Request{ClientID: "a"}, london, Window{d("2026-03-09"), d("2026-03-09")}, ""},
		{"yesterday la", Request{ClientID: "a"}, la, Window{d("2026-03-08"), d("2026-03-08")}, ""},
		{"range", Request{StartDate: "2026-01-01", EndDate: "2026-01-31"}, london,
			Window{d("2026-01-01"), d("2026-01-31")}, ""},
		{"start only", Request{StartDate: "2026-02-01"}, london, Window{d("2026-02-01"), d("2026-02-01")}, ""},
		{"end only", Request{EndDate: "2026-02-01"}, london, Window{d("2026-02-01"), d("2026-02-01")}, ""},
		{"today allowed", Request{StartDate: "2026-03-10"}, london, Window{d("2026-03-10"), d("2026-03-10")}, ""},
		{"today is future in la", Request{StartDate: "2026-03-10"}, la, Window{}, "in the future"},
		{"inverted", Request{StartDate: "2026-02-02", EndDate: "2026-02-01"}, london, Window{}, "before start_date"},
		// 2025-03-10 to 2026-03-10 is 365 days apart, 366 days inclusive.
		{"366 days", Request{StartDate: "2025-03-10", EndDate: "2026-03-10"}, london,
			Window{d("2025-03-10"), d("2026-03-10")}, ""},
		{"367 days", Request{StartDate: "2025-03-09", EndDate: "2026-03-10"}, london, Window{}, "367 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.Window(now, tt.loc)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Window = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !failure.IsPermanent(err) {
				t.Fatalf("Window error = %v; want a permanent one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	start := civil.Date{Year: 2025, Month: 1, Day: 1}
	end := civil.Date{Year: 2025, Month: 12, Day: 31}
	ws, err := Split(start, end, 100)
	if err != nil {
		t.Fatal(err)
	}
	// 365 days in chunks of 100: 100, 100, 100, 65.
	wantDays := []int{100, 100, 100, 65}
	if len(ws) != len(wantDays) {
		t.Fatalf("Split gave %d windows %v; want %d", len(ws), ws, len(wantDays))
	}
	for i, w := range ws {
		if w.Days() != wantDays[i] {
			t.Errorf("window %d = %v (%d days); want %d days", i, w, w.Days(), wantDays[i])
		}
	}
	if ws[0].Start != start || ws[3].End != end || ws[1].Start != (civil.Date{Year: 2025, Month: 4, Day: 11}) {
		t.Errorf("Split windows = %v; want 2025-01-01.., 2025-04-11.., ..2025-12-31", ws)
	}
	if _, err := Split(end, start, 10); err == nil {
		t.Error("Split(end, start) succeeded; want an error")
	}
}
