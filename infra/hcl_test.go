package infra

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// This file reads the Terraform configuration without Terraform: it parses
// every *.tf file and evaluates expressions the way Terraform would before
// any resource exists. Variables take their values from example.tfvars,
// then their defaults; locals are evaluated in dependency order; service
// accounts get the emails their account ids imply; every other resource
// attribute is unknown.

// module is the parsed configuration of one directory.
type module struct {
	blocks []*hclsyntax.Block
	file   map[*hclsyntax.Block]string

	varTypes    map[string]cty.Type
	varDefaults map[string]*typeexpr.Defaults
	vars        map[string]cty.Value
	locals      map[string]cty.Value
	accounts    map[string]cty.Value
}

// loadModule parses dir's *.tf files and evaluates variables from tfvars
// (a file in dir, or "" for defaults only) and the locals.
func loadModule(t *testing.T, dir, tfvars string) *module {
	t.Helper()
	m := &module{file: make(map[*hclsyntax.Block]string)}
	names, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Terraform files in %s (%v)", dir, err)
	}
	for _, name := range names {
		body := parseFile(t, name)
		for _, b := range body.Blocks {
			m.blocks = append(m.blocks, b)
			m.file[b] = filepath.Base(name)
		}
	}

	set := map[string]cty.Value{}
	if tfvars != "" {
		for name, a := range parseFile(t, filepath.Join(dir, tfvars)).Attributes {
			set[name] = m.eval(t, a.Expr, nil)
		}
	}
	if err := m.setVars(set); err != nil {
		t.Fatal(err)
	}
	m.evalLocals(t)
	return m
}

func parseFile(t *testing.T, name string) *hclsyntax.Body {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %s", name, diags.Error())
	}
	return f.Body.(*hclsyntax.Body)
}

// setVars gives every variable its value: from set, else its default,
// else a placeholder naming it (for required strings, such as the source
// object that the deploy script passes). It returns an error when a value
// does not convert to the variable's type.
func (m *module) setVars(set map[string]cty.Value) error {
	m.varTypes = map[string]cty.Type{}
	m.varDefaults = map[string]*typeexpr.Defaults{}
	m.vars = map[string]cty.Value{}
	for name := range set {
		if m.block("variable", name) == nil {
			return fmt.Errorf("value set for undeclared variable %q", name)
		}
	}

	for _, b := range m.all("variable") {
		name := b.Labels[0]
		ty, defaults := cty.DynamicPseudoType, (*typeexpr.Defaults)(nil)
		if a := b.Body.Attributes["type"]; a != nil {
			var diags hcl.Diagnostics
			ty, defaults, diags = typeexpr.TypeConstraintWithDefaults(a.Expr)
			if diags.HasErrors() {
				return fmt.Errorf("variable %s: type: %s", name, diags.Error())
			}
		}
		m.varTypes[name], m.varDefaults[name] = ty, defaults

		v, ok := set[name]
		if !ok {
			if a := b.Body.Attributes["default"]; a != nil {
				d, diags := a.Expr.Value(nil)
				if diags.HasErrors() {
					return fmt.Errorf("variable %s: default: %s", name, diags.Error())
				}
				v = d
			} else {
				v = cty.StringVal("test-" + strings.ReplaceAll(name, "_", "-"))
			}
		}
		cv, err := m.convertVar(name, v)
		if err != nil {
			return err
		}
		m.vars[name] = cv
	}
	return nil
}

func (m *module) convertVar(name string, v cty.Value) (cty.Value, error) {
	if d := m.varDefaults[name]; d != nil {
		v = d.Apply(v)
	}
	cv, err := convert.Convert(v, m.varTypes[name])
	if err != nil {
		return cty.NilVal, fmt.Errorf("variable %s: %v", name, err)
	}
	return cv, nil
}

// evalLocals evaluates every local value once the values it refers to are
// known, and the service accounts' emails once the locals that name them
// are.
func (m *module) evalLocals(t *testing.T) {
	t.Helper()
	m.locals = map[string]cty.Value{}
	m.accounts = map[string]cty.Value{}
	for pass := 0; pass < 2; pass++ {
		pending := map[string]hcl.Expression{}
		for _, b := range m.all("locals") {
			for name, a := range b.Body.Attributes {
				pending[name] = a.Expr
			}
		}
		m.locals = map[string]cty.Value{}
		for len(pending) > 0 {
			progress := false
			for name, expr := range pending {
				if !m.localsReady(expr) {
					continue
				}
				m.locals[name] = m.eval(t, expr, nil)
				delete(pending, name)
				progress = true
			}
			if !progress {
				t.Fatalf("locals refer to each other in a cycle or to undeclared locals: %v", keysOf(pending))
			}
		}
		m.evalAccounts(t)
	}
}

func (m *module) localsReady(expr hcl.Expression) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		name := tr[1].(hcl.TraverseAttr).Name
		if _, ok := m.locals[name]; !ok {
			return false
		}
	}
	return true
}

// evalAccounts gives each google_service_account the attributes Terraform
// would know for it after creation.
func (m *module) evalAccounts(t *testing.T) {
	project := m.vars["project_id"].AsString()
	for _, b := range m.all("resource") {
		if b.Labels[0] != "google_service_account" {
			continue
		}
		id := m.eval(t, b.Body.Attributes["account_id"].Expr, nil)
		if !id.IsKnown() {
			m.accounts[b.Labels[1]] = cty.DynamicVal
			continue
		}
		email := id.AsString() + "@" + project + ".iam.gserviceaccount.com"
		m.accounts[b.Labels[1]] = cty.ObjectVal(map[string]cty.Value{
			"account_id": id,
			"email":      cty.StringVal(email),
			"member":     cty.StringVal("serviceAccount:" + email),
			"name":       cty.StringVal("projects/" + project + "/serviceAccounts/" + email),
		})
	}
}

// each is the each object of a for_each resource instance.
type each struct {
	key   string
	value cty.Value
}

// eval evaluates expr as Terraform would at plan time, failing the test on
// an error. Attributes of resources other than service accounts are
// unknown.
func (m *module) eval(t *testing.T, expr hcl.Expression, e *each) cty.Value {
	t.Helper()
	v, diags := expr.Value(m.context(expr, e))
	if diags.HasErrors() {
		t.Fatalf("evaluate %s: %s", expr.Range(), diags.Error())
	}
	return v
}

func (m *module) context(expr hcl.Expression, e *each) *hcl.EvalContext {
	vars := map[string]cty.Value{}
	if m.vars != nil {
		vars["var"] = cty.ObjectVal(m.vars)
	}
	if m.locals != nil {
		vars["local"] = cty.ObjectVal(m.locals)
	}
	if e != nil {
		vars["each"] = cty.ObjectVal(map[string]cty.Value{
			"key":   cty.StringVal(e.key),
			"value": e.value,
		})
	}
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		if _, ok := vars[root]; ok {
			continue
		}
		if root == "google_service_account" && len(m.accounts) > 0 {
			vars[root] = cty.ObjectVal(m.accounts)
			continue
		}
		vars[root] = cty.DynamicVal
	}
	return &hcl.EvalContext{Variables: vars, Functions: functions}
}

// functions are the Terraform functions this configuration uses.
var functions = map[string]function.Function{
	"alltrue":      allTrue,
	"base64encode": base64Encode,
	"can":          tryfunc.CanFunc,
	"coalesce":     stdlib.CoalesceFunc,
	"concat":       stdlib.ConcatFunc,
	"contains":     stdlib.ContainsFunc,
	"distinct":     stdlib.DistinctFunc,
	"flatten":      stdlib.FlattenFunc,
	"floor":        stdlib.FloorFunc,
	"join":         stdlib.JoinFunc,
	"jsonencode":   stdlib.JSONEncodeFunc,
	"keys":         stdlib.KeysFunc,
	"length":       length,
	"lower":        stdlib.LowerFunc,
	"merge":        stdlib.MergeFunc,
	"min":          stdlib.MinFunc,
	"regex":        stdlib.RegexFunc,
	"split":        stdlib.SplitFunc,
	"tostring":     stdlib.MakeToFunc(cty.String),
	"toset":        stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
	"try":          tryfunc.TryFunc,
	"values":       stdlib.ValuesFunc,
}

var allTrue = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		result := cty.True
		for it := args[0].ElementIterator(); it.Next(); {
			_, v := it.Element()
			if !v.IsKnown() {
				return cty.UnknownVal(cty.Bool), nil
			}
			if v.IsNull() || v.False() {
				result = cty.False
			}
		}
		return result, nil
	},
})

// length is Terraform's length, which also counts a string's characters.
var length = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if args[0].Type() == cty.String {
			return stdlib.Strlen(args[0])
		}
		return stdlib.Length(args[0])
	},
})

var base64Encode = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
	},
})

// all returns the top-level blocks of type typ ("resource", "variable", ...).
func (m *module) all(typ string) []*hclsyntax.Block {
	var bs []*hclsyntax.Block
	for _, b := range m.blocks {
		if b.Type == typ {
			bs = append(bs, b)
		}
	}
	return bs
}

// block returns the top-level block with the given type and labels, or nil.
func (m *module) block(typ string, labels ...string) *hclsyntax.Block {
	for _, b := range m.all(typ) {
		if slices.Equal(b.Labels, labels) {
			return b
		}
	}
	return nil
}

// resources returns the resource blocks of one resource type.
func (m *module) resources(rtype string) []*hclsyntax.Block {
	var bs []*hclsyntax.Block
	for _, b := range m.all("resource") {
		if b.Labels[0] == rtype {
			bs = append(bs, b)
		}
	}
	return bs
}

// nested returns b's first nested block along the path of block types.
func nested(b *hclsyntax.Block, path ...string) *hclsyntax.Block {
	for _, typ := range path {
		var next *hclsyntax.Block
		for _, c := range b.Body.Blocks {
			if c.Type == typ {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		b = next
	}
	return b
}

// refs returns the references in the attribute name of b as
// "type.name" or "var.x" strings.
func refs(b *hclsyntax.Block, name string) []string {
	a := b.Body.Attributes[name]
	if a == nil {
		return nil
	}
	var out []string
	for _, tr := range a.Expr.Variables() {
		s := tr.RootName()
		if len(tr) > 1 {
			if at, ok := tr[1].(hcl.TraverseAttr); ok {
				s += "." + at.Name
			}
		}
		out = append(out, s)
	}
	return out
}

func keysOf[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
