// Package infra holds the Terraform that deploys the product and the tests
// that check it against the code, without Terraform or a cloud account.
package infra

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"customconversions.dev/shared/config"
)

const (
	runtime         = "go126"
	frameworkImport = "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	productLabel    = "custom-conversions"
)

// TestEntryPointsAreRegistered checks that every function resource deploys
// a name that a function package registers, on runtime go126, and that
// every registered name is deployed. The resource, and the file holding
// it, are named after the entry point, so that grep finds one from the
// other.
func TestEntryPointsAreRegistered(t *testing.T) {
	m := loadModule(t, ".", "example.tfvars")
	registered := registeredFunctions(t, filepath.Join("..", "functions"))

	deployed := map[string]bool{}
	for _, b := range m.resources("google_cloudfunctions2_function") {
		name := b.Labels[1]
		bc := nested(b, "build_config")
		if bc == nil {
			t.Errorf("function %s has no build_config", name)
			continue
		}
		entry := m.eval(t, bc.Body.Attributes["entry_point"].Expr, nil).AsString()
		deployed[entry] = true

		if got := m.eval(t, bc.Body.Attributes["runtime"].Expr, nil).AsString(); got != runtime {
			t.Errorf("function %s: runtime %q, want %q", name, got, runtime)
		}
		if _, ok := registered[entry]; !ok {
			t.Errorf("function %s: entry point %q is not registered under functions/ "+
				"(registered: %v)", name, entry, keysOf(registered))
		}
		if want := snake(entry); name != want {
			t.Errorf("function resource %s deploys %s; name it %s", name, entry, want)
		}
		if want := snake(entry) + ".tf"; m.file[b] != want {
			t.Errorf("function %s is in %s; keep it in %s", name, m.file[b], want)
		}
	}
	for name, dir := range registered {
		if !deployed[name] {
			t.Errorf("%s registers %q, which no google_cloudfunctions2_function deploys", dir, name)
		}
	}
}

// TestFunctionEnvironment checks each function's environment against
// shared/config: every variable it reads in production is set, nothing else
// is, the local-only emulator variable is not, and the values as Terraform
// would set them pass config.Parse.
func TestFunctionEnvironment(t *testing.T) {
	m := loadModule(t, ".", "example.tfvars")
	consts := envConstants(t, filepath.Join("..", "shared", "config"))

	// The constants the test reads through the package, so that a rename
	// in shared/config breaks the build here rather than the deploy.
	known := []string{
		config.EnvProject, config.EnvStagingDataset, config.EnvLocation,
		config.EnvPriority, config.EnvRejectThreshold, config.EnvStagingExpiry,
		config.EnvServiceAccount, config.EnvBigQueryHost,
	}
	for _, k := range known {
		if !slices.Contains(consts, k) {
			t.Errorf("scan of shared/config missed %s", k)
		}
	}

	for _, b := range m.resources("google_cloudfunctions2_function") {
		name := b.Labels[1]
		t.Run(name, func(t *testing.T) {
			sc := nested(b, "service_config")
			if sc == nil {
				t.Fatal("no service_config")
			}
			env := stringMap(t, m.eval(t, sc.Body.Attributes["environment_variables"].Expr, nil))

			for _, k := range consts {
				_, set := env[k]
				switch {
				case k == config.EnvBigQueryHost && set:
					t.Errorf("%s is set: it points the functions at a local emulator", k)
				case k != config.EnvBigQueryHost && !set:
					t.Errorf("%s, read by shared/config, is not set", k)
				}
			}
			for k := range env {
				if !slices.Contains(consts, k) {
					t.Errorf("%s is set but shared/config does not read it", k)
				}
			}

			// The account named in errors is the one the function runs as.
			sa := m.eval(t, sc.Body.Attributes["service_account_email"].Expr, nil)
			if !sa.IsKnown() || env[config.EnvServiceAccount] != sa.AsString() {
				t.Errorf("%s = %q, want the function's service account %#v",
					config.EnvServiceAccount, env[config.EnvServiceAccount], sa)
			}

			c, err := config.Parse(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("config.Parse of the Terraform environment: %v", err)
			}
			if c.BigQueryEmulator != "" {
				t.Errorf("config.BigQueryEmulator = %q, want empty in production", c.BigQueryEmulator)
			}
		})
	}
}

// TestStagingExpiry checks that the staging dataset's default table
// expiry and the functions' CC_STAGING_EXPIRY say the same.
func TestStagingExpiry(t *testing.T) {
	m := loadModule(t, ".", "example.tfvars")
	ds := m.block("resource", "google_bigquery_dataset", "staging")
	if ds == nil {
		t.Fatal("no google_bigquery_dataset.staging")
	}
	expiry := m.eval(t, ds.Body.Attributes["default_table_expiration_ms"].Expr, nil)
	ms, _ := expiry.AsBigFloat().Int64()

	env := stringMap(t, m.locals["function_env"])
	c, err := config.Parse(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(ms) * time.Millisecond; got != c.StagingExpiry {
		t.Errorf("staging dataset expiry %v, functions' %s %v",
			got, config.EnvStagingExpiry, c.StagingExpiry)
	}
	name := m.eval(t, ds.Body.Attributes["dataset_id"].Expr, nil).AsString()
	if name != c.StagingDataset {
		t.Errorf("staging dataset %q, functions' %s %q", name, config.EnvStagingDataset, c.StagingDataset)
	}
}

// stringMap converts a known object or map of strings; unknown values
// become "".
func stringMap(t *testing.T, v cty.Value) map[string]string {
	t.Helper()
	if !v.IsKnown() || v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		t.Fatalf("want a known map of strings, got %#v", v)
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		// Terraform converts map(string) values as this does.
		s, err := convert.Convert(e, cty.String)
		if err != nil {
			t.Fatalf("%s: %v", k.AsString(), err)
		}
		out[k.AsString()] = ""
		if s.IsKnown() && !s.IsNull() {
			out[k.AsString()] = s.AsString()
		}
	}
	return out
}

// snake turns an entry point name into the resource name for it:
// RunConversion -> run_conversion.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
