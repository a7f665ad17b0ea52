package config

import (
	"context"
	"sync"
)

// Lazy builds a value on first use and keeps it. Unlike sync.Once, a
// failed build is not kept: the next call tries again, so a function
// instance whose first event met a passing outage recovers.
type Lazy[T any] struct {
	New func(context.Context) (T, error)

	mu   sync.Mutex
	v    T
	done bool
}

// Get returns the value, building it if no build has succeeded yet.
func (l *Lazy[T]) Get(ctx context.Context) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.v, nil
	}
	v, err := l.New(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	l.v, l.done = v, true
	return v, nil
}
