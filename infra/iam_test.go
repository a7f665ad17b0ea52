package infra

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestLeastPrivilege lists every role granted to the product's service
// accounts and compares it with the roles each needs.
func TestLeastPrivilege(t *testing.T) {
	m := loadModule(t, ".", "example.tfvars")
	want := map[string][]string{
		"run_conversion": {
			"google_bigquery_dataset_iam_member roles/bigquery.dataEditor",
			"google_bigquery_dataset_iam_member roles/bigquery.dataViewer",
			"google_project_iam_member roles/bigquery.jobUser",
			"google_project_iam_member roles/datastore.user",
		},
		"merge_conversion": {
			"google_bigquery_dataset_iam_member roles/bigquery.dataEditor",
			"google_bigquery_dataset_iam_member roles/bigquery.dataEditor",
			"google_project_iam_member roles/bigquery.jobUser",
			"google_project_iam_member roles/datastore.user",
		},
		"pubsub_push": {
			"google_cloud_run_v2_service_iam_member roles/run.invoker",
			"google_cloud_run_v2_service_iam_member roles/run.invoker",
		},
	}

	got := map[string][]string{}
	for _, b := range m.all("resource") {
		if !strings.HasSuffix(b.Labels[0], "_iam_member") || b.Body.Attributes["member"] == nil {
			continue
		}
		for _, r := range refs(b, "member") {
			sa, ok := strings.CutPrefix(r, "google_service_account.")
			if !ok {
				continue
			}
			role := m.eval(t, b.Body.Attributes["role"].Expr, nil).AsString()
			got[sa] = append(got[sa], b.Labels[0]+" "+role)
		}
	}
	for sa := range got {
		slices.Sort(got[sa])
	}
	for _, b := range m.resources("google_service_account") {
		if _, ok := want[b.Labels[1]]; !ok {
			t.Errorf("service account %s has no expected roles in this test", b.Labels[1])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grants to the product's accounts:\n got %v\nwant %v", got, want)
	}
}
