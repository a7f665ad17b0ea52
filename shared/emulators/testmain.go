package emulators

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
)

// shared is the stack Main started for the running test binary.
var shared atomic.Pointer[Stack]

// Main starts the emulators once for a package's tests, sets their
// environment variables (see Stack.Env), runs the tests and stops the
// emulators. Call it from TestMain:
//
//	func TestMain(m *testing.M) {
//		os.Exit(emulators.Main(m, emulators.Options{Services: emulators.BigQuery}))
//	}
//
// Under -short it starts nothing, and tests calling Shared are skipped. A
// first build of the BigQuery emulator (15-25 minutes) happens here, before
// go test's timeout starts, but go test itself ends a test binary after
// -timeout plus a minute: build ahead with `go run ./scripts/localstack
// --prepare`.
func Main(m *testing.M, opts Options) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}

	start := time.Now()
	s, err := Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "emulators: cannot run the tests: %v\n", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "emulators: started in %s: %s\n",
			time.Since(start).Round(time.Millisecond), strings.Join(s.Env(), " "))
	}
	for _, kv := range s.Env() {
		name, value, _ := strings.Cut(kv, "=")
		os.Setenv(name, value)
	}
	shared.Store(s)

	code := m.Run()

	shared.Store(nil)
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "emulators: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Shared returns the stack that Main started. It skips the test under
// -short, and fails it when Main was not called.
func Shared(t testing.TB) *Stack {
	t.Helper()
	if s := shared.Load(); s != nil {
		return s
	}
	if testing.Short() {
		t.Skip("needs the emulators, which -short does not start")
	}
	t.Fatal("emulators: no stack: call emulators.Main from the package's TestMain")
	return nil
}

// Names are resource names unique to one test within a stack, so that
// tests sharing the emulators never see each other's data.
//
// Firestore and Pub/Sub accept any project id and keep projects apart, so
// each test gets its own Project there. The BigQuery emulator serves only
// the stack's project: BigQuery isolation is by Dataset.
type Names struct {
	// Project is a project id of the test's own, for Firestore and
	// Pub/Sub.
	Project string
	// BigQueryProject is the stack's project, the only one the BigQuery
	// emulator accepts.
	BigQueryProject string
	// Dataset is a BigQuery dataset id for the test; NewDataset creates
	// it.
	Dataset string
	// Prefix is a short unique token for Firestore collections, topics,
	// subscriptions and the like.
	Prefix string
}

var (
	nameSeq   atomic.Int64
	nonWordRE = regexp.MustCompile(`[^a-z0-9]+`)
)

// NewNames returns names unique to t within this test binary's stack.
func (s *Stack) NewNames(t testing.TB) Names {
	n := nameSeq.Add(1)
	slug := nonWordRE.ReplaceAllString(strings.ToLower(t.Name()), "-")
	slug = strings.Trim(slug, "-")
	if len(slug) > 16 {
		slug = strings.TrimRight(slug[:16], "-")
	}
	token := fmt.Sprintf("t%d-%s", n, slug)
	return Names{
		Project:         strings.TrimRight(truncate("p-"+token, 30), "-"),
		BigQueryProject: s.project,
		Dataset:         strings.ReplaceAll(token, "-", "_"),
		Prefix:          token,
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// NewDataset creates the test's dataset (Names.Dataset) in the BigQuery
// emulator and deletes it, tables included, when the test ends.
func NewDataset(t testing.TB, client *bigquery.Client, names Names) *bigquery.Dataset {
	t.Helper()
	ds := client.Dataset(names.Dataset)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ds.Create(ctx, &bigquery.DatasetMetadata{Location: "US"}); err != nil {
		t.Fatalf("emulators: creating dataset %s: %v", names.Dataset, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := ds.DeleteWithContents(ctx); err != nil {
			t.Errorf("emulators: deleting dataset %s: %v", names.Dataset, err)
		}
	})
	return ds
}
