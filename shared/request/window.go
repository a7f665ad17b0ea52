package request

import (
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/civil"

	"customconversions.dev/shared/failure"
)

// Window is the inclusive range of days a run covers, in the client's
// time zone. It becomes the @start_date and @end_date query parameters.
type Window struct {
	Start, End civil.Date
}

// Days returns the number of days in w, both ends included.
func (w Window) Days() int { return w.End.DaysSince(w.Start) + 1 }

// String returns w as START..END.
func (w Window) String() string { return w.Start.String() + ".." + w.End.String() }

// Window resolves the request's dates in the client's time zone. now is
// the reference instant: the message's publish time, so that a message
// redelivered after midnight still covers the day it was published for.
// Without dates the window is the last complete day (yesterday). A start
// without an end, or an end without a start, covers that single day. The
// errors are permanent.
func (r Request) Window(now time.Time, loc *time.Location) (Window, error) {
	w, err := r.window(now, loc)
	return w, failure.Permanent(err)
}

func (r Request) window(now time.Time, loc *time.Location) (Window, error) {
	today := civil.DateOf(now.In(loc))
	if r.StartDate == "" && r.EndDate == "" {
		y := today.AddDays(-1)
		return Window{Start: y, End: y}, nil
	}

	start, end := r.StartDate, r.EndDate
	if start == "" {
		start = end
	}
	if end == "" {
		end = start
	}
	s, err := parseDate(start)
	if err != nil {
		return Window{}, fmt.Errorf("request: start_date %q: %w", start, err)
	}
	e, err := parseDate(end)
	if err != nil {
		return Window{}, fmt.Errorf("request: end_date %q: %w", end, err)
	}
	w := Window{Start: s, End: e}

	switch {
	case e.Before(s):
		return Window{}, fmt.Errorf("request: end_date %s is before start_date %s", e, s)
	case today.Before(e):
		return Window{}, fmt.Errorf("request: end_date %s is in the future (today is %s in %s)", e, today, loc)
	case w.Days() > MaxWindowDays:
		return Window{}, fmt.Errorf("request: window %s is %d days, more than %d: "+
			"split it into several requests (the backfill command does)", w, w.Days(), MaxWindowDays)
	}
	return w, nil
}

// Split cuts the inclusive range [start, end] into consecutive windows of
// at most days days each, for a backfill.
func Split(start, end civil.Date, days int) ([]Window, error) {
	if days < 1 || days > MaxWindowDays {
		return nil, fmt.Errorf("request: chunk of %d days: want 1 to %d", days, MaxWindowDays)
	}
	if end.Before(start) {
		return nil, errors.New("request: end is before start")
	}
	var ws []Window
	for s := start; !end.Before(s); s = s.AddDays(days) {
		e := s.AddDays(days - 1)
		if end.Before(e) {
			e = end
		}
		ws = append(ws, Window{Start: s, End: e})
	}
	return ws, nil
}
