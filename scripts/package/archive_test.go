package main

import (
	"archive/zip"
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeTree creates the files in tree below dir; a name ending in "/" is
// an empty directory.
func writeTree(t *testing.T, dir string, tree map[string]string) {
	t.Helper()
	for name, body := range tree {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeModule returns a module laid out like this repository, with every
// kind of file the archive must leave out.
func fakeModule() map[string]string {
	return map[string]string{
		"go.mod":    "module example.com/fake\n\ngo 1.26.0\n",
		"go.sum":    "",
		"README.md": "# fake\n",
		"doc.go":    "package fake\n",

		"functions/runconversion/run.go":            "package runconversion\n",
		"functions/runconversion/run_test.go":       "package runconversion\n",
		"functions/runconversion/testdata/msg.json": "{}",
		"functions/mergeconversion/merge.go":        "package mergeconversion\n",
		"functions/mergeconversion/.merge.go.swp":   "x",
		"functions/mergeconversion/_scratch/a.go":   "package scratch\n",

		"shared/config/config.go":          "package config\n",
		"shared/config/config_ext_test.go": "package config_test\n",
		"shared/events/testdata/e.json":    "{}",
		"shared/warehouse/sql/merge.sql":   "MERGE t USING s ON FALSE WHEN NOT MATCHED THEN INSERT ROW",
		"shared/warehouse/warehouse.go":    "package warehouse\n",

		"scripts/package/main.go":     "package main\n",
		"scripts/bqemulator/go.mod":   "module example.com/fake/scripts/bqemulator\n",
		"scripts/bqemulator/tools.go": "package bqemulator\n",
		"infra/main.tf":               "",
	}
}

func build(t *testing.T, root string) ([]byte, []string) {
	t.Helper()
	var b bytes.Buffer
	names, err := Build(&b, root)
	if err != nil {
		t.Fatalf("Build(%s): %v", root, err)
	}
	return b.Bytes(), names
}

func TestBuildEntries(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, fakeModule())

	zb, names := build(t, root)

	want := []string{
		"go.mod",
		"go.sum",
		"function.go",
		"functions/mergeconversion/merge.go",
		"functions/runconversion/run.go",
		"shared/config/config.go",
		"shared/warehouse/sql/merge.sql",
		"shared/warehouse/warehouse.go",
	}
	if !slices.Equal(names, want) {
		t.Errorf("Build entries =\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}

	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range zr.File {
		got = append(got, f.Name)
		if f.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", f.Name, f.Mode())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("zip holds %v, want %v", got, want)
	}
}

func TestBuildIsReproducible(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, fakeModule())

	first, _ := build(t, root)
	later := filepath.Join(root, "shared", "config", "config.go")
	now := time.Now()
	if err := os.Chtimes(later, now, now); err != nil {
		t.Fatal(err)
	}
	second, _ := build(t, root)

	if !bytes.Equal(first, second) {
		t.Error("two builds of the same source differ; the deploy would see a new object each time")
	}
}

func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string
		remove []string
		want   string
	}{
		{
			name:   "missing function package",
			remove: []string{"functions/mergeconversion"},
			want:   "functions/mergeconversion",
		},
		{
			name:   "function package with tests only",
			remove: []string{"functions/runconversion/run.go"},
			want:   "functions/runconversion has no Go files",
		},
		{
			name:   "no go.sum",
			remove: []string{"go.sum"},
			want:   "go.sum",
		},
		{
			name:   "nested module",
			change: map[string]string{"shared/tools/go.mod": "module example.com/tools\n"},
			want:   "shared/tools is a module of its own",
		},
		{
			name:   "module path without a dot",
			change: map[string]string{"go.mod": "module fake\n"},
			want:   "needs a dot",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, fakeModule())
			writeTree(t, root, tt.change)
			for _, r := range tt.remove {
				if err := os.RemoveAll(filepath.Join(root, filepath.FromSlash(r))); err != nil {
					t.Fatal(err)
				}
			}

			_, err := Build(new(bytes.Buffer), root)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestRootSource checks the generated file against what the buildpack
// reads: one package, not main, importing the framework's functions
// package directly and every function package.
func TestRootSource(t *testing.T) {
	src, err := RootSource("example.com/fake")
	if err != nil {
		t.Fatal(err)
	}

	f, err := parser.ParseFile(token.NewFileSet(), RootFile, src, parser.ParseComments)
	if err != nil {
		t.Fatalf("generated root file does not parse: %v\n%s", err, src)
	}
	if f.Name.Name != RootPackage || f.Name.Name == "main" {
		t.Errorf("root package = %s, want %s", f.Name.Name, RootPackage)
	}
	var imports []string
	for _, is := range f.Imports {
		p, _ := strconv.Unquote(is.Path.Value)
		imports = append(imports, p)
		if is.Name == nil || is.Name.Name != "_" {
			t.Errorf("import %s is not a blank import", p)
		}
	}
	want := []string{
		"github.com/GoogleCloudPlatform/functions-framework-go/functions",
		"example.com/fake/functions/runconversion",
		"example.com/fake/functions/mergeconversion",
	}
	slices.Sort(imports)
	slices.Sort(want)
	if !slices.Equal(imports, want) {
		t.Errorf("root imports = %v, want %v", imports, want)
	}
	if !bytes.HasPrefix(src, []byte("// Code generated ")) {
		t.Errorf("root file does not start with a generated-code line:\n%s", src)
	}
}

func TestModulePath(t *testing.T) {
	tests := []struct {
		gomod string
		want  string
	}{
		{"module customconversions.dev\n\ngo 1.26.0\n", "customconversions.dev"},
		{"// comment\nmodule  \"example.com/a/b\" // quoted\n", "example.com/a/b"},
		{"modules x\nmodule example.com/m\n", "example.com/m"},
	}
	for _, tt := range tests {
		p := filepath.Join(t.TempDir(), "go.mod")
		if err := os.WriteFile(p, []byte(tt.gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ModulePath(p)
		if err != nil || got != tt.want {
			t.Errorf("ModulePath(%q) = %q, %v; want %q", tt.gomod, got, err, tt.want)
		}
	}
}

func TestFindRoot(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"go.mod": "module example.com/m\n", "a/b/": ""})

	got, err := FindRoot(filepath.Join(root, "a", "b"))
	if err != nil || got != root {
		t.Errorf("FindRoot(a/b) = %q, %v; want %q", got, err, root)
	}
}

// TestLocalOnlyPackagesStayLocal checks that the packages left out of the
// archive are not among what the deployed functions import, and that
// the archive indeed lacks them.
func TestLocalOnlyPackagesStayLocal(t *testing.T) {
	root := filepath.Join("..", "..")
	args := []string{"list", "-deps"}
	for _, p := range FunctionPackages {
		args = append(args, "./"+p)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, local := range LocalOnly {
		if slices.Contains(deps, "customconversions.dev/"+local) {
			t.Errorf("a deployed function imports %s, which the archive leaves out", local)
		}
	}

	var buf bytes.Buffer
	names, err := Build(&buf, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		for _, local := range LocalOnly {
			if strings.HasPrefix(n, local+"/") {
				t.Errorf("archive holds %s, from local-only %s", n, local)
			}
		}
	}
}
