package publish

import (
	"strings"
	"testing"

	"cloud.google.com/go/civil"

	"customconversions.dev/shared/request"
)

func date(s string) civil.Date {
	d, err := civil.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestPlan(t *testing.T) {
	req := func(conv, start, end string) request.Request {
		return request.Request{ClientID: "acme", ConversionID: conv, StartDate: start,
			EndDate: end, Reason: "reload"}
	}
	tests := []struct {
		name        string
		conversions []string
		start, end  string
		chunk       int
		want        []request.Request
	}{
		// 2023-03-01..2025-02-28 is 731 days: 366 up to the leap day
		// 2024-02-29, then 365.
		{"two years in 366-day chunks", []string{"orders"}, "2023-03-01", "2025-02-28", 366,
			[]request.Request{
				req("orders", "2023-03-01", "2024-02-29"),
				req("orders", "2024-03-01", "2025-02-28"),
			}},
		{"a week in 3-day chunks, two conversions", []string{"orders", "leads"},
			"2025-12-29", "2026-01-04", 3,
			[]request.Request{
				req("orders", "2025-12-29", "2025-12-31"),
				req("orders", "2026-01-01", "2026-01-03"),
				req("orders", "2026-01-04", "2026-01-04"),
				req("leads", "2025-12-29", "2025-12-31"),
				req("leads", "2026-01-01", "2026-01-03"),
				req("leads", "2026-01-04", "2026-01-04"),
			}},
		{"one day", []string{"orders"}, "2024-02-29", "2024-02-29", 1,
			[]request.Request{req("orders", "2024-02-29", "2024-02-29")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan("acme", tt.conversions, date(tt.start), date(tt.end), tt.chunk, "reload")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Plan = %d requests %v; want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Plan[%d] = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPlanRefuses(t *testing.T) {
	tests := []struct {
		name        string
		conversions []string
		chunk       int
		want        string
	}{
		{"no conversion", nil, 30, "no conversion"},
		{"chunk too long", []string{"orders"}, 367, "chunk of 367 days"},
		{"chunk of nothing", []string{"orders"}, 0, "chunk of 0 days"},
	}
	for _, tt := range tests {
		_, err := Plan("acme", tt.conversions, date("2025-01-01"), date("2025-12-31"), tt.chunk, "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Plan error = %v; want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestMeasureYear counts the requests Measure plans for the design's
// target: a year for 50 conversions.
func TestMeasureYear(t *testing.T) {
	start := date("2025-01-01")
	reqs, err := Plan(MeasureClient, make([]string, 50), start, start.AddDays(364), 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 18250 {
		t.Errorf("a year for 50 conversions = %d requests; want 18250", len(reqs))
	}
}
