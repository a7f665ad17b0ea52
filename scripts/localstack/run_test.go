package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/emulators"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string // error text; "" for none
	}{
		{[]string{"--table=crm"}, "write it as dataset.table"},
		{[]string{"--tz=Mars/Olympus"}, `--tz="Mars/Olympus"`},
		{[]string{"--properties=Country"}, `"Country" is not COLUMN=KEY`},
		{[]string{"--no-data", "--file=x.csv"}, "--no-data loads nothing"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--table=a.b", "--tz=Europe/London", "--properties=Country=country,City=city"}, ""},
	}
	for _, tt := range tests {
		_, err := parseArgs(tt.args, io.Discard)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("parseArgs(%q) = %v, want no error", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("parseArgs(%q) = %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
	cfg, _ := parseArgs([]string{"--properties=Country=country, City=city"}, io.Discard)
	if cfg.properties["Country"] != "country" || cfg.properties["City"] != "city" {
		t.Errorf("properties = %v, want Country=country and City=city", cfg.properties)
	}
}

func TestRunBadFileStartsNothing(t *testing.T) {
	var stderr strings.Builder
	args := []string{"--file=../../testdata/crm/ragged.csv"}
	code := Run(context.Background(), args, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "ragged.csv:3") {
		t.Errorf("Run with a ragged file = %d, stderr %q; want 1 and the file's line",
			code, stderr.String())
	}
}

// TestRunEndToEnd runs the README's command as it is: the sample file,
// the reference definition, the sample's day, both functions.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the three emulators, which -short does not")
	}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("Run = %d; want 0\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	// The sample on 2024-03-07 (worked out in scripts/pipeline's test):
	// 5 rows, 3 qualified worth 120.50 + 15.25 + 42 GBP.
	for _, want := range []string{`"state": "succeeded"`, `"inserted": 5`,
		"rows                 5", "qualified            3", "qualified value GBP  177.75"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
}

// TestRunLocalStack runs the command with the default file, queries the
// loaded table through the printed environment, then ends it as Ctrl-C
// would and checks that the emulators are gone.
func TestRunLocalStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the three emulators, which -short does not")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--table=crm.orders", "--stack-only"}, w, io.Discard)
		w.Close()
	}()

	env := map[string]string{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if kv, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			name, value, _ := strings.Cut(kv, "=")
			env[name] = value
		}
		if strings.HasPrefix(sc.Text(), "# Stop it") {
			break
		}
	}
	go io.Copy(io.Discard, out)
	host := env[emulators.EnvBigQueryHost]
	if host == "" || env[emulators.EnvFirestoreHost] == "" || env[emulators.EnvPubSubHost] == "" {
		t.Fatalf("printed environment %v lacks an emulator (exit code %d?)", env, <-done)
	}

	qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
	defer qcancel()
	bq, err := emulators.NewBigQueryClient(qctx, host, env[emulators.EnvProject])
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	it, err := bq.Query("SELECT COUNT(*) FROM `crm.orders`").Read(qctx)
	if err != nil {
		t.Fatalf("querying the loaded table: %v", err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil && err != iterator.Done {
		t.Fatal(err)
	}
	if fmt.Sprint(row) != "[7]" {
		t.Errorf("crm.orders holds %v rows, want [7] (testdata/crm/orders.ndjson)", row)
	}

	cancel()
	if code := <-done; code != 0 {
		t.Errorf("Run after cancel = %d, want 0", code)
	}
	for name, addr := range env {
		if name == emulators.EnvProject {
			continue
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s (%s) still listening after Run returned", name, addr)
		}
	}
}
