package emulators_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"customconversions.dev/shared/emulators"
)

func TestMain(m *testing.M) {
	if os.Getenv(orphanEnv) != "" {
		os.Exit(startAndHang())
	}
	os.Exit(emulators.Main(m, emulators.Options{}))
}

// orphanEnv makes the test binary start a BigQuery emulator, print its
// host and wait to be killed, for TestKilledOwnerLeavesNothing.
const orphanEnv = "CC_EMULATORS_TEST_ORPHAN"

func startAndHang() int {
	opts := emulators.Options{Services: emulators.BigQuery}
	s, err := emulators.Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(s.BigQueryHost())
	select {}
}

func TestEnv(t *testing.T) {
	s := emulators.Shared(t)
	want := map[string]string{
		emulators.EnvProject:       s.Project(),
		emulators.EnvFirestoreHost: s.FirestoreHost(),
		emulators.EnvPubSubHost:    s.PubSubHost(),
		emulators.EnvBigQueryHost:  s.BigQueryHost(),
	}
	env := s.Env()
	if len(env) != len(want) {
		t.Errorf("Env() = %q, want %d entries", env, len(want))
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if want[name] != value || value == "" {
			t.Errorf("Env() has %s=%q, want %q", name, value, want[name])
		}
		if got := os.Getenv(name); got != value {
			t.Errorf("os.Getenv(%s) = %q, want %q (set by Main)", name, got, value)
		}
		if name != emulators.EnvProject && !strings.HasPrefix(value, "127.0.0.1:") {
			t.Errorf("%s=%q, want an address on 127.0.0.1", name, value)
		}
	}
}

func TestNamesAreUnique(t *testing.T) {
	s := emulators.Shared(t)
	a, b := s.NewNames(t), s.NewNames(t)
	if a.Project == b.Project || a.Dataset == b.Dataset || a.Prefix == b.Prefix {
		t.Errorf("two NewNames calls gave overlapping names: %+v and %+v", a, b)
	}
	if a.BigQueryProject != s.Project() {
		t.Errorf("BigQueryProject = %q, want the stack's %q", a.BigQueryProject, s.Project())
	}
	if n := len(a.Project); n < 6 || n > 30 {
		t.Errorf("Project %q has %d characters, want 6-30", a.Project, n)
	}
}

func TestFirestoreKeepsProjectsApart(t *testing.T) {
	s := emulators.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mine, other := s.NewNames(t), s.NewNames(t)

	fs, err := s.Firestore(ctx, mine.Project)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	doc := fs.Collection(mine.Prefix + "-clients").Doc("acme")
	if _, err := doc.Create(ctx, map[string]any{"plan": "enterprise"}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	snap, err := doc.Get(ctx)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got := snap.Data()["plan"]; got != "enterprise" {
		t.Errorf("plan = %v, want enterprise", got)
	}

	fs2, err := s.Firestore(ctx, other.Project)
	if err != nil {
		t.Fatal(err)
	}
	defer fs2.Close()
	_, err = fs2.Collection(mine.Prefix + "-clients").Doc("acme").Get(ctx)
	if err == nil {
		t.Errorf("project %s sees a document written under project %s", other.Project, mine.Project)
	}
}

func TestPubSubRoundTrip(t *testing.T) {
	s := emulators.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := s.NewNames(t)
	ps, err := s.PubSub(ctx, n.Project)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()

	topic := "projects/" + n.Project + "/topics/" + n.Prefix
	sub := "projects/" + n.Project + "/subscriptions/" + n.Prefix
	if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	_, err = ps.SubscriptionAdminClient.CreateSubscription(ctx,
		&pubsubpb.Subscription{Name: sub, Topic: topic})
	if err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	pub := ps.Publisher(topic)
	defer pub.Stop()
	msg := &pubsub.Message{Data: []byte(`{"client_id":"acme"}`)}
	if _, err := pub.Publish(ctx, msg).Get(ctx); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	got := make(chan string, 1)
	rctx, stop := context.WithCancel(ctx)
	err = ps.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		select {
		case got <- string(m.Data):
		default:
		}
		stop()
	})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if data := <-got; data != `{"client_id":"acme"}` {
		t.Errorf("received %q, want the published message", data)
	}
}

// TestBigQueryProjectsAndDatasets pins down what the package doc says
// about isolation in the BigQuery emulator.
func TestBigQueryProjectsAndDatasets(t *testing.T) {
	s := emulators.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bq, err := s.BigQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	n := s.NewNames(t)

	// A dataset created through the API takes tables and queries.
	ds := emulators.NewDataset(t, bq, n)
	schema := bigquery.Schema{{Name: "id", Type: bigquery.StringFieldType}}
	if err := ds.Table("t").Create(ctx, &bigquery.TableMetadata{Schema: schema}); err != nil {
		t.Fatalf("creating a table in an API-created dataset: %v", err)
	}
	q := bq.Query("SELECT COUNT(*) FROM `" + n.Dataset + ".t`")
	it, err := q.Read(ctx)
	if err != nil {
		t.Fatalf("querying an API-created dataset: %v", err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		t.Fatalf("reading the count: %v", err)
	}
	if row[0] != int64(0) {
		t.Errorf("COUNT(*) of an empty table = %v, want 0", row[0])
	}

	// Another project is refused: its datasets cannot even be listed.
	other, err := emulators.NewBigQueryClient(ctx, s.BigQueryHost(), n.Project)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Datasets(ctx).Next()
	var gerr *googleapi.Error
	if errors.Is(err, iterator.Done) || !errors.As(err, &gerr) || gerr.Code != 404 {
		t.Errorf("listing datasets of project %s: err = %v, want 404 (unknown project)",
			n.Project, err)
	}
}

// TestKilledOwnerLeavesNothing kills a process that started an emulator
// without letting it call Stop, as go test does on a timeout: the
// emulator must go too.
func TestKilledOwnerLeavesNothing(t *testing.T) {
	emulators.Shared(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), orphanEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("reading the child's emulator host: %v", err)
	}
	host := strings.TrimSpace(line)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err != nil {
			return // nothing listens any more
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the emulator at %s outlived its killed owner", host)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStopEndsTheProcessGroup starts a stack of its own and checks that
// Stop leaves nothing listening: the Java server behind gcloud included.
func TestStopEndsTheProcessGroup(t *testing.T) {
	emulators.Shared(t) // skip under -short like the others
	start := time.Now()
	s, err := emulators.Start(context.Background(), emulators.Options{Services: emulators.PubSub})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Pub/Sub emulator alone ready in %s", time.Since(start).Round(time.Millisecond))
	host := s.PubSubHost()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", host)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
