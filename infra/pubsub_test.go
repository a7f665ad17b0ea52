package infra

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"customconversions.dev/shared/request"
)

// TestJobEventsSink checks the log sink: the filter of the design, on the
// current audit format, into the job-events topic, whose publisher it is.
func TestJobEventsSink(t *testing.T) {
	m := loadModule(t, ".", "example.tfvars")
	sinks := m.resources("google_logging_project_sink")
	if len(sinks) != 1 {
		t.Fatalf("%d log sinks, want 1", len(sinks))
	}
	s := sinks[0]

	filter := m.eval(t, s.Body.Attributes["filter"].Expr, nil).AsString()
	const labels = "protoPayload.metadata.jobChange.job.jobConfig.labels."
	wants := []string{
		`protoPayload.metadata.jobChange.after="DONE"`,
		labels + `product="` + productLabel + `"`,
		labels + `step="extract"`,
	}

	// The same terms from the names the functions label their jobs with.
	wh := stringConstants(t, filepath.Join("..", "shared", "warehouse"), "")
	for _, name := range []string{"Product", "LabelProduct", "LabelStep", "StepExtract"} {
		if _, ok := wh[name]; !ok {
			t.Fatalf("shared/warehouse no longer declares %s; update this test", name)
		}
	}
	wants = append(wants,
		labels+wh["LabelProduct"]+`="`+wh["Product"]+`"`,
		labels+wh["LabelStep"]+`="`+wh["StepExtract"]+`"`)

	for _, want := range wants {
		if !strings.Contains(filter, want) {
			t.Errorf("sink filter %q lacks %s", filter, want)
		}
	}
	if strings.Contains(filter, " OR ") {
		t.Errorf("sink filter %q has an OR at its top level; every term must hold", filter)
	}
	if v := m.eval(t, s.Body.Attributes["unique_writer_identity"].Expr, nil); !v.True() {
		t.Error("sink does not have unique_writer_identity = true")
	}
	if r := refs(s, "destination"); !slices.Contains(r, "google_pubsub_topic.job_events") {
		t.Errorf("sink destination refers to %v, want google_pubsub_topic.job_events", r)
	}

	sinkRef := "google_logging_project_sink." + s.Labels[1]
	found := false
	for _, b := range m.resources("google_pubsub_topic_iam_member") {
		if slices.Contains(refs(b, "topic"), "google_pubsub_topic.job_events") &&
			slices.Contains(refs(b, "member"), sinkRef) &&
			m.eval(t, b.Body.Attributes["role"].Expr, nil).AsString() == "roles/pubsub.publisher" {
			found = true
		}
	}
	if !found {
		t.Error("the sink's writer identity may not publish to the job-events topic")
	}
}

// TestPushSubscriptions checks that each function is fed by a push
// subscription from its topic, authenticated, with exponential backoff and
// a dead-letter topic that keeps what it receives, and that the Pub/Sub
// service agent has what dead-lettering needs.
func TestPushSubscriptions(t *testing.T) {
	const (
		pushSA = "google_service_account.pubsub_push"
		agent  = "local.pubsub_service_agent"
	)
	m := loadModule(t, ".", "example.tfvars")
	feeds := map[string]string{
		"google_pubsub_topic.run_requests": "google_cloudfunctions2_function.run_conversion",
		"google_pubsub_topic.job_events":   "google_cloudfunctions2_function.merge_conversion",
	}
	for topic, fn := range feeds {
		t.Run(topic, func(t *testing.T) {
			var sub *hclsyntax.Block
			for _, b := range m.resources("google_pubsub_subscription") {
				if slices.Contains(refs(b, "topic"), topic) && nested(b, "push_config") != nil {
					sub = b
				}
			}
			if sub == nil {
				t.Fatalf("no push subscription on %s", topic)
			}
			subRef := "google_pubsub_subscription." + sub.Labels[1]

			pc := nested(sub, "push_config")
			if r := refs(pc, "push_endpoint"); !slices.Contains(r, fn) || !slices.Contains(r, topic) {
				t.Errorf("%s push_endpoint refers to %v, want %s's URL and the topic's path", subRef, r, fn)
			}
			if tok := nested(pc, "oidc_token"); tok == nil {
				t.Errorf("%s pushes without an OIDC token", subRef)
			} else if r := refs(tok, "service_account_email"); !slices.Contains(r, pushSA) {
				t.Errorf("%s OIDC token is for %v, want %s", subRef, r, pushSA)
			}
			if !hasGrant(t, m, "google_cloud_run_v2_service_iam_member", fn, "roles/run.invoker", pushSA) {
				t.Errorf("the push identity is not granted roles/run.invoker on %s", fn)
			}

			rp := nested(sub, "retry_policy")
			if rp == nil || rp.Body.Attributes["minimum_backoff"] == nil ||
				rp.Body.Attributes["maximum_backoff"] == nil {
				t.Errorf("%s has no retry_policy with minimum and maximum backoff", subRef)
			}

			dl := nested(sub, "dead_letter_policy")
			if dl == nil {
				t.Fatalf("%s has no dead_letter_policy", subRef)
			}
			n := m.eval(t, dl.Body.Attributes["max_delivery_attempts"].Expr, nil)
			attempts, _ := n.AsBigFloat().Int64()
			if attempts < 5 || attempts > 100 {
				t.Errorf("%s max_delivery_attempts %d, want 5 to 100", subRef, attempts)
			}
			var dlTopic string
			for _, r := range refs(dl, "dead_letter_topic") {
				if strings.HasPrefix(r, "google_pubsub_topic.") {
					dlTopic = r
				}
			}
			if dlTopic == "" || dlTopic == topic {
				t.Fatalf("%s dead_letter_topic refers to %q, want a topic of its own", subRef, dlTopic)
			}

			if !hasGrant(t, m, "google_pubsub_topic_iam_member", dlTopic, "roles/pubsub.publisher", agent) {
				t.Errorf("the Pub/Sub service agent cannot publish to %s", dlTopic)
			}
			const subIAM = "google_pubsub_subscription_iam_member"
			if !hasGrant(t, m, subIAM, subRef, "roles/pubsub.subscriber", agent) {
				t.Errorf("the Pub/Sub service agent cannot acknowledge dead letters on %s", subRef)
			}
			kept := false
			for _, b := range m.resources("google_pubsub_subscription") {
				if slices.Contains(refs(b, "topic"), dlTopic) && nested(b, "push_config") == nil {
					kept = true
				}
			}
			if !kept {
				t.Errorf("%s has no pull subscription: what is dead-lettered would be dropped", dlTopic)
			}
		})
	}
}

// hasGrant reports whether a resource of type rtype, naming target in any
// attribute, grants role to a member referring to member.
func hasGrant(t *testing.T, m *module, rtype, target, role, member string) bool {
	t.Helper()
	for _, b := range m.resources(rtype) {
		var all []string
		for name := range b.Body.Attributes {
			all = append(all, refs(b, name)...)
		}
		if !slices.Contains(all, target) || !slices.Contains(refs(b, "member"), member) {
			continue
		}
		if m.eval(t, b.Body.Attributes["role"].Expr, nil).AsString() == role {
			return true
		}
	}
	return false
}

// TestTopicNames checks the topics Terraform creates against the topic
// names shared/config declares for the local stack.
func TestTopicNames(t *testing.T) {
	m := loadModule(t, ".", "")
	topics := map[string]string{}
	for _, b := range m.resources("google_pubsub_topic") {
		topics[m.eval(t, b.Body.Attributes["name"].Expr, nil).AsString()] = b.Labels[1]
	}
	for _, want := range []string{"run_requests", "job_events"} {
		if !slices.Contains(slices.Collect(maps.Values(topics)), want) {
			t.Errorf("no google_pubsub_topic.%s", want)
		}
	}

	declared := stringConstants(t, filepath.Join("..", "shared", "config"), "Topic")
	if len(declared) == 0 {
		t.Fatalf("shared/config declares no Topic* constants; Terraform creates %v", keysOf(topics))
	}
	for name, value := range declared {
		if _, ok := topics[value]; !ok {
			t.Errorf("config.%s = %q, but Terraform creates %v (with the default name_prefix)",
				name, value, keysOf(topics))
		}
	}
}

// TestSchedulerMessage checks that each client's scheduler job publishes
// exactly {"client_id": "<id>"} to the run-requests topic.
func TestSchedulerMessage(t *testing.T) {
	m := loadModule(t, ".", "example.tfvars")
	jobs := m.resources("google_cloud_scheduler_job")
	if len(jobs) != 1 {
		t.Fatalf("%d scheduler job resources, want 1 with for_each over the clients", len(jobs))
	}
	j := jobs[0]
	if r := refs(j, "for_each"); !slices.Equal(r, []string{"var.clients"}) {
		t.Errorf("scheduler for_each refers to %v, want var.clients", r)
	}
	target := nested(j, "pubsub_target")
	if target == nil {
		t.Fatal("scheduler job has no pubsub_target")
	}
	if r := refs(target, "topic_name"); !slices.Contains(r, "google_pubsub_topic.run_requests") {
		t.Errorf("scheduler publishes to %v, want google_pubsub_topic.run_requests", r)
	}

	clients := m.vars["clients"]
	if clients.LengthInt() == 0 {
		t.Fatal("example.tfvars lists no clients")
	}
	for it := clients.ElementIterator(); it.Next(); {
		k, v := it.Element()
		id := k.AsString()
		e := &each{key: id, value: v}

		data := m.eval(t, target.Body.Attributes["data"].Expr, e).AsString()
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatalf("client %s: data %q is not base64: %v", id, data, err)
		}
		var got map[string]any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("client %s: message %s is not JSON: %v", id, raw, err)
		}
		if want := map[string]any{"client_id": id}; !reflect.DeepEqual(got, want) {
			t.Errorf("client %s: message %s, want exactly %v", id, raw, want)
		}
		req, err := request.Parse(raw)
		if err != nil || req.ClientID != id || req.Manual() {
			t.Errorf("client %s: request.Parse(%s) = %+v, %v; want a scheduled run of %s",
				id, raw, req, err, id)
		}

		for attr, want := range map[string]string{
			"schedule":  v.GetAttr("schedule").AsString(),
			"time_zone": v.GetAttr("time_zone").AsString(),
		} {
			if got := m.eval(t, j.Body.Attributes[attr].Expr, e).AsString(); got != want {
				t.Errorf("client %s: %s %q, want %q", id, attr, got, want)
			}
		}
	}
}
