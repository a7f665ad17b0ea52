package emulators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Service selects emulators; values combine with |.
type Service uint8

// The emulators a Stack can run.
const (
	Firestore Service = 1 << iota
	PubSub
	BigQuery

	// All is every emulator.
	All = Firestore | PubSub | BigQuery
)

// DefaultProject is the project id the stack serves when Options.Project
// is empty.
const DefaultProject = "cc-local"

// Environment variables that the Google client libraries and this
// product's configuration read.
const (
	EnvFirestoreHost = "FIRESTORE_EMULATOR_HOST"
	EnvPubSubHost    = "PUBSUB_EMULATOR_HOST"
	EnvBigQueryHost  = "BIGQUERY_EMULATOR_HOST"
	EnvProject       = "GOOGLE_CLOUD_PROJECT"
)

// Options configures Start. The zero value starts all three emulators for
// DefaultProject.
type Options struct {
	// Project is the project the BigQuery emulator serves (the only one it
	// accepts); default DefaultProject.
	Project string
	// Services selects the emulators to start; zero means All.
	Services Service
	// Timeout bounds each emulator's wait for readiness; default 90s.
	Timeout time.Duration
	// Log receives progress lines (such as the notice before building the
	// BigQuery emulator); default os.Stderr.
	Log io.Writer
	// Output, when set, also receives the emulators' own output, each
	// line behind the emulator's name. It is kept for errors either way.
	Output io.Writer
}

// Stack is a set of running emulators. Its methods are safe for
// concurrent use; Stop must be called to end the processes.
type Stack struct {
	project string
	dir     string // scratch: gcloud config, Pub/Sub data, BigQuery database

	firestoreHost string
	pubsubHost    string
	bigqueryHost  string

	mu    sync.Mutex
	procs []*process
}

// Start starts the selected emulators on free ports of 127.0.0.1, in
// parallel, and waits until each answers. On failure it stops whatever it
// started. The BigQuery emulator is built first if it is missing (see
// EnsureBigQueryBinary).
func Start(ctx context.Context, opts Options) (*Stack, error) {
	opts = opts.withDefaults()
	gcloud, bqBinary, err := prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	dir, err := scratchDir()
	if err != nil {
		return nil, err
	}
	s := &Stack{project: opts.Project, dir: dir}

	var wg sync.WaitGroup
	errs := make([]error, 3)
	if opts.Services&Firestore != 0 {
		wg.Go(func() { s.firestoreHost, errs[0] = s.startFirestore(ctx, gcloud, opts) })
	}
	if opts.Services&PubSub != 0 {
		wg.Go(func() { s.pubsubHost, errs[1] = s.startPubSub(ctx, gcloud, opts) })
	}
	if opts.Services&BigQuery != 0 {
		wg.Go(func() { s.bigqueryHost, errs[2] = s.startBigQuery(ctx, bqBinary, opts) })
	}
	wg.Wait()

	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

func (o Options) withDefaults() Options {
	if o.Project == "" {
		o.Project = DefaultProject
	}
	if o.Services == 0 {
		o.Services = All
	}
	if o.Timeout <= 0 {
		o.Timeout = 90 * time.Second
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	return o
}

// Prepare checks that the tools the selected emulators need are installed
// and builds the BigQuery emulator when it is missing, without starting
// anything. Errors for missing tools wrap ErrMissingTool and say how to
// install them.
func Prepare(ctx context.Context, opts Options) error {
	_, _, err := prepare(ctx, opts.withDefaults())
	return err
}

// prepare checks the tools the selected emulators need before anything
// starts, so that a missing one is reported alone.
func prepare(ctx context.Context, opts Options) (gcloud, bqBinary string, err error) {
	if opts.Services&(Firestore|PubSub) != 0 {
		if gcloud, err = checkGcloud(opts.Services); err != nil {
			return "", "", err
		}
	}
	if opts.Services&BigQuery != 0 {
		if bqBinary, err = EnsureBigQueryBinary(ctx, opts.Log); err != nil {
			return "", "", err
		}
	}
	return gcloud, bqBinary, nil
}

// gcloudEnv keeps gcloud away from the network and from the user's own
// configuration: a scratch config folder, no prompts, no update check, no
// usage reporting, no metadata server probe, and an explicit project.
func (s *Stack) gcloudEnv() []string {
	return append(os.Environ(),
		"CLOUDSDK_CONFIG="+filepath.Join(s.dir, "gcloud"),
		"CLOUDSDK_CORE_PROJECT="+s.project,
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1",
		"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true",
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true",
		"CLOUDSDK_CORE_CHECK_GCE_METADATA=false",
	)
}

func (s *Stack) startFirestore(ctx context.Context, gcloud string,
	opts Options) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProcess("firestore", s.gcloudEnv(), opts.Output, gcloud,
		"emulators", "firestore", "start", "--host-port="+host)
	if err != nil {
		return "", err
	}
	s.add(p)
	if err := p.waitHTTP(ctx, "http://"+host+"/", opts.Timeout); err != nil {
		return "", fmt.Errorf("%w\n(%s)", err, hintComponents)
	}
	return host, nil
}

func (s *Stack) startPubSub(ctx context.Context, gcloud string, opts Options) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	data := filepath.Join(s.dir, "pubsub")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", fmt.Errorf("emulators: %w", err)
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProcess("pubsub", s.gcloudEnv(), opts.Output, gcloud,
		"beta", "emulators", "pubsub", "start", "--host-port="+host, "--data-dir="+data)
	if err != nil {
		return "", err
	}
	s.add(p)
	if err := p.waitHTTP(ctx, "http://"+host+"/", opts.Timeout); err != nil {
		return "", fmt.Errorf("%w\n(%s)", err, hintComponents)
	}
	return host, nil
}

func (s *Stack) startBigQuery(ctx context.Context, binary string,
	opts Options) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	grpcPort, err := freePort()
	if err != nil {
		return "", err
	}
	host := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProcess("bigquery", os.Environ(), opts.Output, binary,
		"--project="+s.project,
		"--host=127.0.0.1",
		"--port="+strconv.Itoa(port),
		"--grpc-port="+strconv.Itoa(grpcPort),
		"--database="+filepath.Join(s.dir, "bigquery.db"),
	)
	if err != nil {
		return "", err
	}
	s.add(p)
	url := "http://" + host + "/bigquery/v2/projects/" + s.project + "/datasets"
	if err := p.waitHTTP(ctx, url, opts.Timeout); err != nil {
		return "", err
	}
	return host, nil
}

func (s *Stack) add(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs = append(s.procs, p)
}

// Stop ends every emulator the stack started, whole process groups
// included, and removes its scratch folder. It may be called more than
// once.
func (s *Stack) Stop() error {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, len(procs))
	for i, p := range procs {
		wg.Go(func() { errs[i] = p.stop(10 * time.Second) })
	}
	wg.Wait()
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("emulators: %w", err))
	}
	return errors.Join(errs...)
}

// Project returns the project id the stack serves.
func (s *Stack) Project() string { return s.project }

// FirestoreHost returns the Firestore emulator's host:port, or "" when it
// was not started.
func (s *Stack) FirestoreHost() string { return s.firestoreHost }

// PubSubHost returns the Pub/Sub emulator's host:port, or "" when it was
// not started.
func (s *Stack) PubSubHost() string { return s.pubsubHost }

// BigQueryHost returns the BigQuery emulator's host:port (REST), or ""
// when it was not started.
func (s *Stack) BigQueryHost() string { return s.bigqueryHost }

// Env returns the environment entries (NAME=value) that point clients at
// the running emulators: FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST and
// BIGQUERY_EMULATOR_HOST for those started, and GOOGLE_CLOUD_PROJECT.
func (s *Stack) Env() []string {
	env := []string{EnvProject + "=" + s.project}
	if s.firestoreHost != "" {
		env = append(env, EnvFirestoreHost+"="+s.firestoreHost)
	}
	if s.pubsubHost != "" {
		env = append(env, EnvPubSubHost+"="+s.pubsubHost)
	}
	if s.bigqueryHost != "" {
		env = append(env, EnvBigQueryHost+"="+s.bigqueryHost)
	}
	return env
}

// scratchPrefix names the stacks' scratch folders in the temporary folder.
const scratchPrefix = "cc-emulators-"

// scratchDir makes a scratch folder for a stack, recording the owning
// process in it, and first removes the folders of stacks whose owner died
// without stopping them (the watchdogs stop their emulators, but cannot
// know when the folder is free).
func scratchDir() (string, error) {
	removeStaleScratch()
	dir, err := os.MkdirTemp("", scratchPrefix)
	if err != nil {
		return "", fmt.Errorf("emulators: %w", err)
	}
	owner := filepath.Join(dir, "owner")
	if err := os.WriteFile(owner, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return "", fmt.Errorf("emulators: %w", err)
	}
	return dir, nil
}

// removeStaleScratch removes scratch folders whose recorded owner is no
// longer running. Folders without an owner record are left alone.
func removeStaleScratch() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), scratchPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}
