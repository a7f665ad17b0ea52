package logsink

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/events"
	"customconversions.dev/shared/warehouse"
)

func TestMain(m *testing.M) {
	os.Exit(emulators.Main(m, emulators.Options{Services: emulators.PubSub | emulators.BigQuery}))
}

func TestSinkPublishesFinishedExtractionJobsOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stack := emulators.Shared(t)
	names := stack.NewNames(t)
	bq, err := stack.BigQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	ps, err := stack.PubSub(ctx, names.Project)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	topic := "projects/" + names.Project + "/topics/" + names.Prefix + "-jobs"
	sub := "projects/" + names.Project + "/subscriptions/" + names.Prefix + "-jobs"
	if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.SubscriptionAdminClient.CreateSubscription(ctx,
		&pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatal(err)
	}

	run := "20260309-20260309-00000000aa"
	client := names.Prefix
	jobs := map[warehouse.Step]string{}
	for _, step := range []warehouse.Step{warehouse.StepExtract, warehouse.StepSummary} {
		q := bq.Query("SELECT 1 AS x")
		q.JobID = warehouse.JobID(client, "orders", run, step, 1)
		q.Labels = warehouse.Labels(client, "orders", run, step)
		j, err := q.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		jobs[step] = j.ID()
	}
	other := bq.Query("SELECT 2 AS y") // no labels: another product's job
	if j, err := other.Run(ctx); err != nil {
		t.Fatal(err)
	} else if _, err := j.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	pub := ps.Publisher(topic)
	defer pub.Stop()
	s := &Sink{BQ: bq, Publisher: pub, Location: "US"}
	if n, err := s.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("first Poll = %d, %v; want 1 (the extraction job only)", n, err)
	}
	if n, err := s.Poll(ctx); err != nil || n != 0 {
		t.Fatalf("second Poll = %d, %v; want 0 (nothing new)", n, err)
	}

	var mu sync.Mutex
	var got []events.JobEvent
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	err = ps.Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		ev, ok, err := events.ParseLogEntry(m.Data)
		if err != nil || !ok {
			t.Errorf("ParseLogEntry = %v, %v", ok, err)
			return
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		rcancel()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("received %d entries; want 1", len(got))
	}
	ev := got[0]
	if ev.JobID != jobs[warehouse.StepExtract] || ev.State != events.StateDone || ev.Err != nil ||
		ev.Labels["run"] != run || ev.Labels["step"] != "extract" || ev.Location != "US" {
		t.Errorf("entry = %+v; want job %s, DONE, no error, run %s, step extract, US",
			ev, jobs[warehouse.StepExtract], run)
	}
}

// TestSinkReportsAJobThatFailedReadingRows covers an emulator quirk: a
// query job that fails while reading rows (here on ERROR()) is DONE
// with no error in the job resource the emulator returns afterwards.
func TestSinkReportsAJobThatFailedReadingRows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stack := emulators.Shared(t)
	names := stack.NewNames(t)
	bq, err := stack.BigQuery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()

	run := "20260309-20260309-00000000bb"
	q := bq.Query("SELECT IF(ERROR('the export is corrupt') IS NULL, 1, 2) AS x FROM UNNEST([1])")
	q.JobID = warehouse.JobID(names.Prefix, "orders", run, warehouse.StepExtract, 1)
	q.Labels = warehouse.Labels(names.Prefix, "orders", run, warehouse.StepExtract)
	if _, err := q.Run(ctx); err != nil {
		t.Fatal(err)
	}
	job, err := bq.JobFromID(ctx, q.JobID)
	if err != nil {
		t.Fatal(err)
	}
	entry, ok, err := Entry(ctx, job, "US")
	if err != nil || !ok {
		t.Fatalf("entry = %v, %v; want an entry", ok, err)
	}
	ev, _, err := events.ParseLogEntry(entry)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Err == nil || !strings.Contains(ev.Err.Message, "the export is corrupt") {
		t.Errorf("entry's error = %v; want the job's error, the export is corrupt", ev.Err)
	}
}
