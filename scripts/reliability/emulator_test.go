package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"customconversions.dev/shared/emulators"
)

// emulator is an emulator process of one test's own, in a process group
// of its own, on a fixed loopback port, so that it can be stopped and
// started again where its clients expect it. A guard process ends the
// group should the test binary die without stopping it.
type emulator struct {
	t    *testing.T
	name string
	port int
	// command returns the command line of the next start.
	command func() []string
	// ready is the URL that answers 200 once the emulator serves.
	ready string
	// env is the process environment; nil means this process's.
	env []string
	// beforeStop runs before each stop (an export, say).
	beforeStop func()

	cmd    *exec.Cmd
	guard  *exec.Cmd
	exited chan struct{}
	out    lockedBuffer
}

// Host returns the emulator's host:port.
func (e *emulator) Host() string { return "127.0.0.1:" + strconv.Itoa(e.port) }

// start starts the emulator and waits until it answers, at most 60s.
func (e *emulator) start() {
	e.t.Helper()
	args := e.command()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &e.out, &e.out
	cmd.Env = e.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("starting the %s emulator: %v", e.name, err)
	}
	e.cmd, e.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(e.exited)

	// The guard reads its input until this process dies, then ends the
	// group; stop ends the guard first.
	guard := exec.Command("/bin/sh", "-c", `read -r _; kill -KILL -- "-$1" 2>/dev/null`,
		"guard", strconv.Itoa(cmd.Process.Pid))
	if _, err := guard.StdinPipe(); err != nil {
		e.t.Fatal(err)
	}
	if err := guard.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.guard = guard

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	began := time.Now()
	deadline := began.Add(60 * time.Second)
	for {
		resp, err := client.Get(e.ready)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				e.t.Logf("the %s emulator is ready on %s after %s", e.name, e.Host(),
					time.Since(began).Round(time.Millisecond))
				return
			}
		}
		select {
		case <-e.exited:
			e.t.Fatalf("the %s emulator exited before it was ready:\n%s", e.name, &e.out)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the %s emulator is not ready after 60s:\n%s", e.name, &e.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the emulator's process group: SIGTERM, then SIGKILL after 10s.
func (e *emulator) stop() {
	e.t.Helper()
	if e.cmd == nil {
		return
	}
	if e.beforeStop != nil {
		e.beforeStop()
	}
	e.guard.Process.Kill()
	e.guard.Wait()
	pgid := e.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.exited
	}
	// The group's other members (the Java server behind gcloud) go too.
	for i := 0; i < 100 && syscall.Kill(-pgid, 0) == nil; i++ {
		if i == 50 {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.cmd = nil
	// Wait until the port is free, so that the next start can take it.
	for i := 0; i < 100; i++ {
		l, err := net.Listen("tcp", e.Host())
		if err == nil {
			l.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Errorf("the %s emulator's port %d is still taken", e.name, e.port)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newBigQuery starts a BigQuery emulator of the test's own. Each test has
// its own because the emulator answers every job call in time that grows
// with the jobs it holds (measured: about 2 ms a call for each job held,
// so a trivial query takes 0.1s on a fresh emulator and 2.4s after 180
// jobs). It cannot stand in for a restart: started again on the same
// --database file, v0.6.6 has lost every dataset, table and job.
func newBigQuery(t *testing.T) *emulator {
	t.Helper()
	binary, err := emulators.BigQueryBinaryPath()
	if err != nil {
		t.Fatal(err)
	}
	project := emulators.Shared(t).Project()
	port, grpcPort := freePort(t), freePort(t)
	db := filepath.Join(t.TempDir(), "bigquery.db")
	e := &emulator{t: t, name: "BigQuery", port: port,
		command: func() []string {
			return []string{binary, "--project=" + project, "--host=127.0.0.1",
				"--port=" + strconv.Itoa(port), "--grpc-port=" + strconv.Itoa(grpcPort),
				"--database=" + db}
		},
		ready: fmt.Sprintf("http://127.0.0.1:%d/bigquery/v2/projects/%s/datasets", port, project),
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

// newFirestore starts a Firestore emulator of the test's own for one
// project. The emulator keeps its data in memory only: before each stop
// the data is exported, and each start after the first imports it, so
// that a restart loses nothing.
func newFirestore(t *testing.T, project string) *emulator {
	t.Helper()
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		t.Skip("gcloud is not installed: the Firestore emulator cannot be started")
	}
	port := freePort(t)
	dir := t.TempDir()
	export := filepath.Join(dir, "export")
	e := &emulator{t: t, name: "Firestore", port: port, ready: fmt.Sprintf("http://127.0.0.1:%d/", port)}
	e.command = func() []string {
		args := []string{gcloud, "emulators", "firestore", "start",
			"--host-port=127.0.0.1:" + strconv.Itoa(port)}
		if meta, _ := filepath.Glob(filepath.Join(export, "*", "*.overall_export_metadata")); len(meta) == 1 {
			args = append(args, "--import-data="+meta[0])
		}
		return args
	}
	e.beforeStop = func() {
		os.RemoveAll(export)
		if err := os.MkdirAll(export, 0o755); err != nil {
			t.Errorf("exporting the Firestore emulator's data: %v", err)
			return
		}
		body := fmt.Sprintf(`{"database": "projects/%s/databases/(default)", "export_directory": %q}`,
			project, export)
		url := fmt.Sprintf("http://127.0.0.1:%d/emulator/v1/projects/%s:export", port, project)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = errors.New(string(b))
			}
		}
		if err != nil {
			// Errorf, not Fatalf: a stop may run on a proxy goroutine.
			t.Errorf("exporting the Firestore emulator's data: %v", err)
		}
	}
	// gcloud reads a scratch configuration, prompts for nothing and
	// reports nothing.
	e.env = append(os.Environ(),
		"CLOUDSDK_CONFIG="+filepath.Join(dir, "gcloud"),
		"CLOUDSDK_CORE_PROJECT="+project,
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1",
		"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true",
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true",
		"CLOUDSDK_CORE_CHECK_GCE_METADATA=false")
	e.start()
	t.Cleanup(e.stop)
	return e
}
