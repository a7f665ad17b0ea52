package failure

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestPermanent(t *testing.T) {
	base := errors.New("bad request")
	wrapped := fmt.Errorf("run: %w", Permanent(base))
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"timeout", context.DeadlineExceeded, false},
		{"marked", Permanent(base), true},
		{"wrapped", wrapped, true},
	}
	for _, tt := range tests {
		if got := IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
	if !errors.Is(wrapped, base) {
		t.Error("a permanent error no longer matches the error it wraps")
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if got := wrapped.Error(); got != "run: bad request" {
		t.Errorf("Error() = %q; want %q", got, "run: bad request")
	}
}
