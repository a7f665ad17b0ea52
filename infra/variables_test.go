package infra

import (
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"customconversions.dev/shared/request"
)

// TestDocumented checks that every variable and output says what it is
// for, and that the example settings pass the variables' validations
// while bad settings do not.
func TestDocumented(t *testing.T) {
	m := loadModule(t, ".", "example.tfvars")
	for _, typ := range []string{"variable", "output"} {
		for _, b := range m.all(typ) {
			d := b.Body.Attributes["description"]
			if d == nil || strings.TrimSpace(m.eval(t, d.Expr, nil).AsString()) == "" {
				t.Errorf("%s %s has no description", typ, b.Labels[0])
			}
		}
	}

	if failed := failedValidations(t, m); len(failed) > 0 {
		t.Errorf("example.tfvars fails validation of %v", failed)
	}

	bad := []struct {
		name  string
		value cty.Value
	}{
		{"job_priority", cty.StringVal("urgent")},
		{"reject_threshold", cty.NumberFloatVal(1.5)},
		{"staging_expiry_hours", cty.NumberFloatVal(0.5)},
		{"max_delivery_attempts", cty.NumberIntVal(3)},
		{"name_prefix", cty.StringVal("Custom_Conversions")},
		{"clients", cty.MapVal(map[string]cty.Value{
			"acme corp": cty.ObjectVal(map[string]cty.Value{
				"schedule": cty.StringVal("0 6 * * *"), "time_zone": cty.StringVal("UTC"),
			}),
		})},
		{"clients", cty.MapVal(map[string]cty.Value{
			"acme": cty.ObjectVal(map[string]cty.Value{
				"schedule": cty.StringVal("0 6 * * *"), "time_zone": cty.StringVal("UTC"),
				"source_datasets": cty.ListVal([]cty.Value{cty.StringVal("acme-crm:crm")}),
			}),
		})},
	}
	for _, tt := range bad {
		mm := loadModule(t, ".", "example.tfvars")
		v, err := mm.convertVar(tt.name, tt.value)
		if err != nil {
			t.Fatal(err)
		}
		mm.vars[tt.name] = v
		if failed := failedValidations(t, mm); !slices.Contains(failed, tt.name) {
			t.Errorf("%s = %#v passes validation", tt.name, tt.value)
		}
	}
}

// TestClientIDs checks that the clients variable accepts exactly the ids
// the functions accept.
func TestClientIDs(t *testing.T) {
	ids := []string{
		"acme", "a", "acme-uk", "acme_2", "0day", strings.Repeat("a", 40),
		"", "Acme", "acme corp", "-acme", "_acme", "acme.uk", strings.Repeat("a", 41),
	}
	for _, id := range ids {
		m := loadModule(t, ".", "example.tfvars")
		v, err := m.convertVar("clients", cty.MapVal(map[string]cty.Value{
			id: cty.ObjectVal(map[string]cty.Value{
				"schedule": cty.StringVal("0 6 * * *"), "time_zone": cty.StringVal("UTC"),
			}),
		}))
		if err != nil {
			t.Fatal(err)
		}
		m.vars["clients"] = v
		terraformOK := !slices.Contains(failedValidations(t, m), "clients")
		functionsOK := request.CheckID("client", id) == nil
		if terraformOK != functionsOK {
			t.Errorf("client id %q: Terraform accepts it %v, request.CheckID %v",
				id, terraformOK, functionsOK)
		}
	}
}

// failedValidations returns the variables whose validation conditions do
// not hold for m's values.
func failedValidations(t *testing.T, m *module) []string {
	var failed []string
	for _, b := range m.all("variable") {
		for _, v := range b.Body.Blocks {
			if v.Type != "validation" {
				continue
			}
			ok := m.eval(t, v.Body.Attributes["condition"].Expr, nil)
			if !ok.IsKnown() || ok.False() {
				failed = append(failed, b.Labels[0])
			}
		}
	}
	return failed
}
