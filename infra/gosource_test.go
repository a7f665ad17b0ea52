package infra

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// registeredFunctions returns the names that packages under dir register
// with the functions framework, mapped to their directory. A name may be
// a string literal or a string constant of the same package.
func registeredFunctions(t *testing.T, dir string) map[string]string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(dir, "*"))
	found := map[string]string{}
	for _, d := range dirs {
		consts := stringConstants(t, d, "")
		for _, f := range parseDir(t, d) {
			alias := importName(f, frameworkImport, "functions")
			if alias == "" {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "CloudEvent" && sel.Sel.Name != "HTTP") {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != alias {
					return true
				}
				switch a := call.Args[0].(type) {
				case *ast.BasicLit:
					s, _ := strconv.Unquote(a.Value)
					found[s] = d
				case *ast.Ident:
					if s, ok := consts[a.Name]; ok {
						found[s] = d
						return true
					}
					t.Errorf("%s: registers a function under %s, not a string constant of the package", d, a.Name)
				default:
					t.Errorf("%s: registers a function under a name this test cannot read", d)
				}
				return true
			})
		}
	}
	if len(found) == 0 {
		t.Fatalf("no package under %s registers a function (functions.CloudEvent); "+
			"the function packages must exist", dir)
	}
	return found
}

// logsLiteral reports whether a non-test file of a package under dir has
// a string literal starting with prefix.
func logsLiteral(t *testing.T, dir, prefix string) bool {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, d := range dirs {
		for _, f := range parseDir(t, d) {
			found := false
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					found = found || strings.HasPrefix(s, prefix)
				}
				return !found
			})
			if found {
				return true
			}
		}
	}
	return false
}

// parseDir parses the non-test Go files in dir.
func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// importName returns the name f uses for the import path, def when it is
// imported without one, or "" when f does not import it.
func importName(f *ast.File, path, def string) string {
	for _, is := range f.Imports {
		if p, _ := strconv.Unquote(is.Path.Value); p == path {
			if is.Name != nil {
				return is.Name.Name
			}
			return def
		}
	}
	return ""
}

// envConstants returns the values of the Env* string constants that the
// config package declares: the environment variables it reads.
func envConstants(t *testing.T, dir string) []string {
	var vs []string
	for _, v := range stringConstants(t, dir, "Env") {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// stringConstants returns the string constants declared in the non-test
// files of the package in dir whose names contain part: the exported ones,
// or all of them when part is "".
func stringConstants(t *testing.T, dir, part string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range parseDir(t, dir) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if part != "" && (!id.IsExported() || !strings.Contains(id.Name, part)) {
						continue
					}
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[id.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	if len(out) == 0 && part == "Env" {
		t.Fatalf("no Env* constants in %s", dir)
	}
	return out
}
