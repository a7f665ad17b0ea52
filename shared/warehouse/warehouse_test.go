package warehouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"google.golang.org/api/googleapi"

	"customconversions.dev/shared/config"
	"customconversions.dev/shared/failure"
	"customconversions.dev/shared/request"
)

func TestNames(t *testing.T) {
	w := request.Window{Start: civil.Date{Year: 2026, Month: 3, Day: 1}, End: civil.Date{Year: 2026, Month: 3, Day: 9}}
	run := RunID("acme", "paid-orders", w, "123456")
	if !strings.HasPrefix(run, "20260301-20260309-") || CheckRunID(run) != nil {
		t.Errorf("RunID = %q; want 20260301-20260309- and 10 hex digits", run)
	}
	if RunID("acme", "paid-orders", w, "123456") != run {
		t.Error("RunID is not deterministic")
	}
	for _, other := range []string{RunID("acme", "paid-orders", w, "123457"),
		RunID("acme-paid", "orders", w, "123456"), RunID("acme", "paid-orders2", w, "123456")} {
		if other == run {
			t.Errorf("RunID collides for another message, client or conversion: %q", other)
		}
	}

	tests := []struct{ got, want string }{
		{JobID("acme", "paid-orders", run, StepExtract, 1), "cc_acme_paid-orders_" + run + "_extract"},
		{JobID("acme", "paid-orders", run, StepMerge, 3), "cc_acme_paid-orders_" + run + "_merge_3"},
		{StagingTable("acme", "paid-orders", run), "stg_acme__paid_orders__" + strings.ReplaceAll(run, "-", "_")},
		{CleanLabel("Paid Orders/ÉTÉ"), "paid_orders__t_"}, // space, slash, É, t, É
		{CleanLabel(strings.Repeat("a", 70)), strings.Repeat("a", 63)},
		{Ref("p-roj1", "ds", "t"), "`p-roj1.ds.t`"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d = %q; want %q", i, tt.got, tt.want)
		}
	}

	l := Labels("acme", "paid-orders", run, StepExtract)
	if l["product"] != "custom-conversions" || l["client"] != "acme" || l["conversion"] != "paid-orders" ||
		l["run"] != run || l["step"] != "extract" || len(l) != 5 {
		t.Errorf("Labels = %v", l)
	}
	for _, bad := range []string{"", "20260301-20260309", "../x", "20260301-20260309-XYZ"} {
		if CheckRunID(bad) == nil {
			t.Errorf("CheckRunID(%q) = nil; want an error", bad)
		}
	}
	for _, c := range []struct {
		check func(string) error
		ok    []string
		bad   []string
	}{
		{CheckDataset, []string{"attribution", "Client_1"}, []string{"", "a.b", "a-b", "x`; DROP"}},
		{CheckProject, []string{"my-project-1", "example.com:my-proj"}, []string{"", "ab", "My-Project", "p.x.y", "proj`"}},
	} {
		for _, s := range c.ok {
			if err := c.check(s); err != nil {
				t.Errorf("check(%q) = %v; want nil", s, err)
			}
		}
		for _, s := range c.bad {
			if c.check(s) == nil {
				t.Errorf("check(%q) = nil; want an error", s)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	w := &Warehouse{cfg: config.Config{Project: "cc-prod", ServiceAccount: "run@cc-prod.iam.gserviceaccount.com"}}
	api := func(code int, reason, msg string) error {
		return &googleapi.Error{Code: code, Message: msg, Errors: []googleapi.ErrorItem{{Reason: reason, Message: msg}}}
	}
	tests := []struct {
		name      string
		err       error
		permanent bool
		wantInMsg string
	}{
		{"syntax", api(400, "invalidQuery", "Syntax error: Unexpected ',' at [1:11]"), true, "at [1:11]"},
		{"access", api(403, "accessDenied", "Access Denied: Table client-crm:crm.orders: User does not "+
			"have permission to query table client-crm:crm.orders"), true,
			"grant run@cc-prod.iam.gserviceaccount.com BigQuery Data Viewer (roles/bigquery.dataViewer) " +
				"on the source dataset in project client-crm and BigQuery User (roles/bigquery.user) on project client-crm"},
		{"write access", api(403, "accessDenied", "Access Denied: Table acme-data:attribution.custom_conversions: "+
			"Permission bigquery.tables.updateData denied on table acme-data:attribution.custom_conversions "+
			"(or it may not exist)."), true,
			"grant run@cc-prod.iam.gserviceaccount.com BigQuery Data Editor (roles/bigquery.dataEditor) " +
				"on dataset attribution in project acme-data, then rerun"},
		{"rate limit", api(403, "rateLimitExceeded", "Exceeded rate limits"), false, ""},
		{"backend", api(500, "backendError", "Backend error"), false, ""},
		{"unavailable", api(503, "", "unavailable"), false, ""},
		{"not found", api(404, "notFound", "Not found: Table cc-prod:x.y"), true, ""},
		{"job concurrent", &bigquery.Error{Reason: "invalidQuery",
			Message: "Transaction is aborted due to concurrent update against table x"}, false, ""},
		{"job invalid", &bigquery.Error{Reason: "invalidQuery", Message: "Unrecognized name: clientid"}, true, ""},
		{"job internal", &bigquery.Error{Reason: "jobInternalError", Message: "try again"}, false, ""},
		{"timeout", fmt.Errorf("run: %w", context.DeadlineExceeded), false, ""},
		{"network", errors.New("dial tcp: connection refused"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := w.Classify(fmt.Errorf("starting job: %w", tt.err))
			if failure.IsPermanent(got) != tt.permanent {
				t.Errorf("classify(%v) permanent = %v; want %v", tt.err, failure.IsPermanent(got), tt.permanent)
			}
			if !strings.Contains(got.Error(), tt.wantInMsg) {
				t.Errorf("classify(%v) = %q; want it to contain %q", tt.err, got, tt.wantInMsg)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classify lost the cause %v", tt.err)
			}
		})
	}
	if alreadyExists(api(409, "duplicate", "Already Exists: Job cc-prod:US.x")) != true ||
		alreadyExists(api(400, "", "job x is already created")) != true ||
		alreadyExists(api(400, "invalidQuery", "Syntax error")) {
		t.Error("alreadyExists: want true for 409 and the emulator's 400 'already created', false otherwise")
	}
}
