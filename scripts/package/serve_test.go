package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"customconversions.dev/shared/testkit"
)

// generatedMain is the main that the Go buildpack writes for a root
// package that imports the framework's functions package: it imports the
// root package for its init()s and starts the framework on PORT.
//
// One difference: the buildpack calls funcframework.Start, which listens
// on every interface; this test must only listen on loopback, so it calls
// StartHostPort with 127.0.0.1. Registration and routing are the same.
const generatedMain = `package main

import (
	"log"
	"net/http"
	"os"

	_ %q

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	http.HandleFunc("/robots.txt", http.NotFound)
	http.HandleFunc("/favicon.ico", http.NotFound)

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
		log.Fatalf("framework stopped: %%v", err)
	}
}
`

// mainDir is where the buildpack puts its main, inside the user's module.
const mainDir = "functions.local/app"

// TestArchiveServesMergeConversion deploys the archive as the buildpack
// would, on this machine: it unpacks the archive in an empty directory,
// adds the generated main, builds it with the go command, serves
// MergeConversion on a loopback port and posts it a job event that is not
// this product's, which the function must acknowledge.
func TestArchiveServesMergeConversion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the deployed functions; skipped with -short")
	}
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	module, err := ModulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}

	var zb bytes.Buffer
	if _, err := Build(&zb, root); err != nil {
		t.Fatalf("Build(%s): %v (the function packages must exist to deploy)", root, err)
	}
	src := filepath.Join(t.TempDir(), "src")
	unzip(t, zb.Bytes(), src)
	writeMain(t, src, module)
	bin := goBuild(t, src)

	base := serve(t, bin, "MergeConversion")
	for _, tt := range otherJobDeliveries(t) {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, base+tt.path, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Errorf("POST %s: %s %s; want 2xx (a non-2xx makes Pub/Sub redeliver)",
					tt.path, resp.Status, body)
			}
		})
	}
}

type delivery struct {
	name   string
	path   string
	header map[string]string
	body   []byte
}

// otherJobDeliveries returns the same job event as the two shapes that reach
// the function: the push subscription's raw body, posted to the endpoint
// path that infra/merge_conversion.tf configures, and a binary-mode
// messagePublished CloudEvent.
func otherJobDeliveries(t *testing.T) []delivery {
	entry, err := os.ReadFile(filepath.Join("testdata", "other-job-done.json"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		topic = "projects/cc-package-test/topics/cc-job-events"
		sub   = "projects/cc-package-test/subscriptions/cc-merge-conversion-push"
	)
	push, err := json.Marshal(map[string]any{
		"subscription": sub,
		"message": map[string]any{
			"data":        base64.StdEncoding.EncodeToString(entry),
			"messageId":   "4242",
			"publishTime": "2024-03-02T01:00:10.500Z",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return []delivery{
		{
			name:   "pubsub push",
			path:   "/" + topic,
			header: map[string]string{"Content-Type": "application/json"},
			body:   push,
		},
		{
			name: "binary cloudevent",
			path: "/",
			header: map[string]string{
				"Content-Type":   "application/json",
				"Ce-Id":          "4242",
				"Ce-Specversion": "1.0",
				"Ce-Type":        "google.cloud.pubsub.topic.v1.messagePublished",
				"Ce-Source":      "//pubsub.googleapis.com/" + topic,
				"Ce-Time":        "2024-03-02T01:00:10.500Z",
			},
			body: push,
		},
	}
}

// unzip extracts the archive into dir, refusing names that would escape.
func unzip(t *testing.T, zb []byte, dir string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !filepath.IsLocal(f.Name) {
			t.Fatalf("archive entry %q leaves the archive root", f.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func writeMain(t *testing.T, src, module string) {
	t.Helper()
	dir := filepath.Join(src, filepath.FromSlash(mainDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	code := fmt.Sprintf(generatedMain, module)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goBuild builds the generated main in src, with the machine's module
// proxy and cache, and returns the binary's path.
func goBuild(t *testing.T, src string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./"+mainDir)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build in the unpacked archive: %v\n%s", err, out)
	}
	return bin
}

// serve starts bin as the deployed function target on a free loopback
// port, stops it when the test ends, and returns its base URL.
//
// The process gets a clean environment: a temporary HOME, so that no
// stored credentials are found, and every Google endpoint it could
// dial pinned to a closed loopback port, so that nothing leaves the
// machine even if the function tried.
func serve(t *testing.T, bin, target string) string {
	t.Helper()
	ports := freePorts(t, 2)
	port, closed := ports[0], ports[1]
	home := t.TempDir()
	nowhere := "127.0.0.1:" + closed

	cmd := exec.Command(bin)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"CLOUDSDK_CONFIG=" + home,
		"PORT=" + port,
		"FUNCTION_TARGET=" + target,
		"GOOGLE_CLOUD_PROJECT=cc-package-test",
		"CC_SERVICE_ACCOUNT=cc-merge-conversion@cc-package-test.iam.gserviceaccount.com",
		"GCE_METADATA_HOST=" + nowhere,
		"GCE_METADATA_IP=" + nowhere,
		"FIRESTORE_EMULATOR_HOST=" + nowhere,
		"PUBSUB_EMULATOR_HOST=" + nowhere,
		"BIGQUERY_EMULATOR_HOST=" + nowhere,
	}
	var out testkit.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		t.Logf("function output:\n%s", out.String())
		if t.Failed() {
			return
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.Contains(line, `"severity":"ERROR"`) {
				t.Errorf("function logged an error for an event that is not ours: %s", line)
			}
		}
	})

	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("function exited before serving: %v\n%s", err, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("function not listening on %s after 30s\n%s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, fmt.Sprint(l.Addr().(*net.TCPAddr).Port))
	}
	return ports
}
