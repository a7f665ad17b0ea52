package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// FunctionPackages are the directories, relative to the module root, of
// the packages whose init() registers a deployed function. The generated
// root file imports each of them.
var FunctionPackages = []string{
	"functions/runconversion",
	"functions/mergeconversion",
}

// Trees are the directories copied into the archive besides go.mod and
// go.sum. Nothing else of the module is deployed: not scripts/, not infra/,
// and so not the separate module under scripts/bqemulator.
var Trees = []string{"functions", "shared"}

// LocalOnly are the packages under Trees that only the local stack and the
// tests use. They are left out of the archive, so that nothing deployed
// can carry them; a test checks that no function package imports them.
var LocalOnly = []string{"shared/emulators", "shared/testkit", "shared/crmfile", "shared/logsink"}

// RootFile is the name of the generated root package's only file.
const RootFile = "function.go"

// RootPackage is the package name of the generated root file. It must not
// be main: the buildpack writes its own main that imports this package.
const RootPackage = "customconversions"

//go:embed function.go.tmpl
var rootTemplateText string

var rootTemplate = template.Must(template.New(RootFile).Parse(rootTemplateText))

// modTime is the time stamped on every entry, so that the same source
// always gives the same bytes, and so the same object name when the
// deploy script names the upload by its digest.
var modTime = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// Build writes the deployable source of the module rooted at root to w as
// a zip archive and returns the names of the entries it wrote, in order.
//
// The archive root holds go.mod, go.sum and one generated file, package
// customconversions, that imports every function package; below it are
// the module's functions/ and shared/ trees without tests, without
// testdata directories and without hidden files.
func Build(w io.Writer, root string) ([]string, error) {
	module, err := ModulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	if err := checkFunctionPackages(root); err != nil {
		return nil, err
	}
	src, err := RootSource(module)
	if err != nil {
		return nil, err
	}

	a := &archive{zw: zip.NewWriter(w), root: root}
	a.copy("go.mod")
	a.copy("go.sum")
	a.add(RootFile, src)
	for _, t := range Trees {
		a.tree(t)
	}
	if a.err != nil {
		return nil, a.err
	}
	if err := a.zw.Close(); err != nil {
		return nil, fmt.Errorf("package: close archive: %w", err)
	}
	return a.names, nil
}

// RootSource returns the generated root file for the module path module,
// formatted as gofmt would.
func RootSource(module string) ([]byte, error) {
	data := struct {
		Name    string
		Imports []string
	}{Name: RootPackage}
	for _, p := range FunctionPackages {
		data.Imports = append(data.Imports, module+"/"+p)
	}

	var b bytes.Buffer
	if err := rootTemplate.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("package: root file: %w", err)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("package: root file is not valid Go: %w", err)
	}
	return src, nil
}

// ModulePath returns the module path that the go.mod file at name declares.
func ModulePath(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("package: %w", err)
	}
	defer f.Close()

	s := bufio.NewScanner(f)
	for s.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		mod := strings.TrimSpace(rest)
		if i := strings.Index(mod, "//"); i >= 0 {
			mod = strings.TrimSpace(mod[:i])
		}
		if u, err := strconv.Unquote(mod); err == nil {
			mod = u
		}
		first, _, _ := strings.Cut(mod, "/")
		if !strings.Contains(first, ".") {
			// The buildpack refuses such a module: it must be able to
			// name the function's package from a generated module.
			return "", fmt.Errorf("package: %s: module path %q needs a dot in its first element", name, mod)
		}
		return mod, nil
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("package: read %s: %w", name, err)
	}
	return "", fmt.Errorf("package: %s declares no module", name)
}

// checkFunctionPackages reports a missing function package now, rather
// than as a failed build in the cloud.
func checkFunctionPackages(root string) error {
	var errs []error
	for _, dir := range FunctionPackages {
		ents, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if err != nil {
			errs = append(errs, fmt.Errorf("package: function package %s: %w", dir, err))
			continue
		}
		found := false
		for _, e := range ents {
			if e.Type().IsRegular() && isSource(e.Name()) {
				found = true
				break
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("package: function package %s has no Go files", dir))
		}
	}
	return errors.Join(errs...)
}

func isSource(name string) bool {
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") &&
		!skipName(name)
}

// skipName reports names the go command ignores, and so need not ship.
func skipName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// archive writes entries until the first error, which it keeps.
type archive struct {
	zw    *zip.Writer
	root  string
	names []string
	err   error
}

// tree adds the files under dir, a slash-separated path below the root.
func (a *archive) tree(dir string) {
	if a.err != nil {
		return
	}
	top := filepath.Join(a.root, filepath.FromSlash(dir))
	a.err = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("package: %w", err)
		}
		rel, err := filepath.Rel(a.root, p)
		if err != nil {
			return fmt.Errorf("package: %w", err)
		}
		name := filepath.ToSlash(rel)

		if d.IsDir() {
			if p != top && (d.Name() == "testdata" || skipName(d.Name()) ||
				slices.Contains(LocalOnly, name)) {
				return fs.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return fmt.Errorf("package: %s is a module of its own; "+
					"it would not build from the archive", name)
			}
			return nil
		}
		if skipName(d.Name()) || strings.HasSuffix(d.Name(), "_test.go") {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("package: %s is not a regular file", name)
		}
		a.copy(name)
		return a.err
	})
}

// copy adds the file at name, a slash-separated path below the root.
func (a *archive) copy(name string) {
	if a.err != nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(a.root, filepath.FromSlash(name)))
	if err != nil {
		a.err = fmt.Errorf("package: %w", err)
		return
	}
	a.add(name, b)
}

func (a *archive) add(name string, b []byte) {
	if a.err != nil {
		return
	}
	h := &zip.FileHeader{
		Name:     path.Clean(name),
		Method:   zip.Deflate,
		Modified: modTime,
	}
	h.SetMode(0o644)
	w, err := a.zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(b)
	}
	if err != nil {
		a.err = fmt.Errorf("package: add %s: %w", name, err)
		return
	}
	a.names = append(a.names, h.Name)
}
