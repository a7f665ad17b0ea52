package reliability

import (
	"fmt"
	"os"
	"testing"

	"customconversions.dev/shared/emulators"
)

func TestMain(m *testing.M) {
	code := emulators.Main(m, emulators.Options{})
	fmt.Fprintf(os.Stderr, "reliability: %d deliveries, %d faults injected, %d bad inputs, "+
		"%d output rows checked (%d bad)\n", figures.deliveries.Load(), figures.faults.Load(),
		figures.badInputs.Load(), figures.rows.Load(), figures.badRows.Load())
	os.Exit(code)
}
