package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/api/iterator"

	"customconversions.dev/shared/store"
	"customconversions.dev/shared/warehouse"
)

// Summary describes a client's attribution table.
type Summary struct {
	Rows      int64
	Qualified int64
	Generated int64
	// ValueByCurrency sums value per currency, over qualified rows.
	ValueByCurrency map[string]float64
	// RejectedByReason counts the rejected-rows table per reason.
	RejectedByReason map[string]int64
}

// Summarise reads the client's attribution and rejected-rows tables.
func (p *Pipeline) Summarise(ctx context.Context) (Summary, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c := p.opts.Client
	attribution := warehouse.Ref(c.Project, c.Dataset, warehouse.AttributionTable)
	rejected := warehouse.Ref(c.Project, c.Dataset, warehouse.RejectedTable)
	s := Summary{ValueByCurrency: map[string]float64{}, RejectedByReason: map[string]int64{}}

	type row struct {
		Kind, Key string
		N         int64
		Value     float64
	}
	sql := `SELECT 'rows' AS kind, '' AS key, COUNT(*) AS n, 0.0 AS value FROM ` + attribution + `
UNION ALL SELECT 'qualified', '', COUNTIF(is_qualified), 0.0 FROM ` + attribution + `
UNION ALL SELECT 'generated', '', COUNTIF(id_generated), 0.0 FROM ` + attribution + `
UNION ALL SELECT 'currency', currency, COUNT(*), SUM(IFNULL(value, 0)) FROM ` + attribution + `
  WHERE is_qualified GROUP BY currency
UNION ALL SELECT 'reason', reason, COUNT(*), 0.0 FROM ` + rejected + `, UNNEST(problems) AS reason
  GROUP BY reason`
	it, err := p.bq.Query(sql).Read(ctx)
	if err != nil {
		return s, fmt.Errorf("pipeline: summarising: %w", err)
	}
	for {
		var r row
		if err := it.Next(&r); err != nil {
			if errors.Is(err, iterator.Done) {
				return s, nil
			}
			return s, fmt.Errorf("pipeline: summarising: %w", err)
		}
		switch r.Kind {
		case "rows":
			s.Rows = r.N
		case "qualified":
			s.Qualified = r.N
		case "generated":
			s.Generated = r.N
		case "currency":
			s.ValueByCurrency[r.Key] = r.Value
		case "reason":
			s.RejectedByReason[r.Key] = r.N
		}
	}
}

// Print writes the runs and the summary for a person.
func Print(w io.Writer, runs []store.Run, s Summary) {
	for _, r := range runs {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintf(w, "run record:\n%s\n", b)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "attribution table\t\n")
	fmt.Fprintf(tw, "  rows\t%d\n", s.Rows)
	fmt.Fprintf(tw, "  qualified\t%d\n", s.Qualified)
	fmt.Fprintf(tw, "  generated ids\t%d\n", s.Generated)
	for _, k := range sortedKeys(s.ValueByCurrency) {
		fmt.Fprintf(tw, "  qualified value %s\t%.2f\n", k, s.ValueByCurrency[k])
	}
	if len(s.RejectedByReason) == 0 {
		fmt.Fprintf(tw, "  rejected rows\tnone\n")
	}
	for _, k := range sortedKeys(s.RejectedByReason) {
		fmt.Fprintf(tw, "  rejected: %s\t%d\n", k, s.RejectedByReason[k])
	}
	tw.Flush()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// States lists the runs' states, for a one-line report.
func States(runs []store.Run) string {
	var s []string
	for _, r := range runs {
		s = append(s, r.ConversionID+": "+r.State)
	}
	return strings.Join(s, ", ")
}
