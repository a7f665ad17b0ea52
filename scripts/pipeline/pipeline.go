// Package pipeline runs the whole product locally, through the same paths
// as production: the run-requests topic pushes to RunConversion, the
// extraction job's completion reaches the job-events topic (through the
// local stand-in for the log sink) and is pushed to MergeConversion. Each
// function runs in a process of its own on the functions framework.
package pipeline

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
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"customconversions.dev/functions/mergeconversion"
	"customconversions.dev/functions/runconversion"
	"customconversions.dev/shared/config"
	"customconversions.dev/shared/contract"
	"customconversions.dev/shared/emulators"
	"customconversions.dev/shared/logsink"
	"customconversions.dev/shared/store"
)

// Options configures Start.
type Options struct {
	// Stack is the running emulators (Firestore, Pub/Sub and BigQuery).
	Stack *emulators.Stack
	// Client is the client document to create; its BigQuery project must
	// be the stack's project.
	Client store.Client
	// ConversionID and SQL are the definition to create.
	ConversionID, SQL string
	// StagingDataset is the staging dataset; default cc_staging.
	StagingDataset string
	// Log receives progress lines; FunctionLog the functions' own output
	// (JSON log lines). Either may be nil.
	Log, FunctionLog io.Writer
}

// Pipeline is the local product, running.
type Pipeline struct {
	opts    Options
	project string
	store   *store.Store
	bq      *bigquery.Client
	ps      *pubsub.Client
	pub     *pubsub.Publisher
	funcs   map[string]*function
	stop    context.CancelFunc
	done    chan struct{}
	tmp     string
}

// Start builds and starts both functions, creates the datasets, topics,
// push subscriptions, the client and its definition, and starts the log
// sink stand-in. Stop undoes what it started.
func Start(ctx context.Context, opts Options) (_ *Pipeline, err error) {
	if opts.StagingDataset == "" {
		opts.StagingDataset = "cc_staging"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	s := opts.Stack
	p := &Pipeline{opts: opts, project: s.Project(), funcs: map[string]*function{}}
	defer func() {
		if err != nil {
			p.Stop()
		}
	}()

	if p.bq, err = s.BigQuery(ctx); err != nil {
		return nil, err
	}
	if p.ps, err = s.PubSub(ctx, p.project); err != nil {
		return nil, err
	}
	if err := p.datasets(ctx); err != nil {
		return nil, err
	}
	if err := p.functions(ctx); err != nil {
		return nil, err
	}
	if err := p.topics(ctx); err != nil {
		return nil, err
	}
	if err := p.documents(ctx); err != nil {
		return nil, err
	}

	sinkCtx, cancel := context.WithCancel(context.Background())
	p.stop, p.done = cancel, make(chan struct{})
	sink := &logsink.Sink{BQ: p.bq, Publisher: p.ps.Publisher(config.TopicJobEvents), Location: "US"}
	go func() {
		defer close(p.done)
		sink.Run(sinkCtx, 250*time.Millisecond, func(err error) {
			fmt.Fprintf(opts.Log, "log sink: %v\n", err)
		})
	}()
	p.pub = p.ps.Publisher(config.TopicRunRequests)
	return p, nil
}

func (p *Pipeline) datasets(ctx context.Context) error {
	for _, ds := range []string{p.opts.StagingDataset, p.opts.Client.Dataset} {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := p.bq.Dataset(ds).Create(cctx, &bigquery.DatasetMetadata{Location: "US"})
		cancel()
		if err != nil && !alreadyExists(err) {
			return fmt.Errorf("pipeline: creating dataset %s: %w", ds, err)
		}
	}
	return nil
}

// functions builds the serve command and starts one process per
// function, each on a free port, and waits until both answer.
func (p *Pipeline) functions(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "cc-functions-")
	if err != nil {
		return err
	}
	p.tmp = dir
	bin := filepath.Join(dir, "serve")
	fmt.Fprintln(p.opts.Log, "building the functions (scripts/serve)")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./scripts/serve")
	build.Dir = moduleRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("pipeline: building scripts/serve: %v\n%s", err, out)
	}

	s := p.opts.Stack
	for _, target := range []string{runconversion.EntryPoint, mergeconversion.EntryPoint} {
		port, err := freePort()
		if err != nil {
			return err
		}
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(),
			"FUNCTION_TARGET="+target,
			"PORT="+strconv.Itoa(port),
			config.EnvProject+"="+p.project,
			config.EnvStagingDataset+"="+p.opts.StagingDataset,
			config.EnvBigQueryHost+"="+s.BigQueryHost(),
			"FIRESTORE_EMULATOR_HOST="+s.FirestoreHost(),
		)
		cmd.Stdout = p.opts.FunctionLog
		cmd.Stderr = p.opts.FunctionLog
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("pipeline: starting %s: %w", target, err)
		}
		p.funcs[target] = &function{cmd: cmd, url: "http://127.0.0.1:" + strconv.Itoa(port)}
		if err := waitPort(ctx, port, 30*time.Second); err != nil {
			return fmt.Errorf("pipeline: %s: %w", target, err)
		}
		fmt.Fprintf(p.opts.Log, "%s serving on 127.0.0.1:%d (pid %d)\n", target, port, cmd.Process.Pid)
	}
	return nil
}

// function is one function's process.
type function struct {
	cmd *exec.Cmd
	url string
}

// URL returns the address a function is served at.
func (p *Pipeline) URL(target string) string { return p.funcs[target].url }

// PID returns the process id of a function's process.
func (p *Pipeline) PID(target string) int { return p.funcs[target].cmd.Process.Pid }

// topics creates both topics, their dead-letter topics, and push
// subscriptions to the functions, as production's Terraform does.
func (p *Pipeline) topics(ctx context.Context) error {
	targets := map[string]string{
		config.TopicRunRequests: runconversion.EntryPoint,
		config.TopicJobEvents:   mergeconversion.EntryPoint,
	}
	for topic, target := range targets {
		for _, t := range []string{topic, topic + config.DeadLetterSuffix} {
			_, err := p.ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: p.topic(t)})
			if err != nil && !alreadyExists(err) {
				return fmt.Errorf("pipeline: creating topic %s: %w", t, err)
			}
		}
		// The functions framework reads the topic from the push path, as
		// in production, where the endpoint is the function's URL.
		endpoint := p.URL(target) + "/" + p.topic(topic)
		_, err := p.ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name:               p.subscription(topic),
			Topic:              p.topic(topic),
			PushConfig:         &pubsubpb.PushConfig{PushEndpoint: endpoint},
			AckDeadlineSeconds: 600,
			RetryPolicy: &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(time.Second),
				MaximumBackoff: durationpb.New(10 * time.Second)},
			DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{
				DeadLetterTopic: p.topic(topic + config.DeadLetterSuffix), MaxDeliveryAttempts: 5},
		})
		if alreadyExists(err) {
			// Left by an earlier local run: point it at this run's function.
			err = p.ps.SubscriptionAdminClient.ModifyPushConfig(ctx, &pubsubpb.ModifyPushConfigRequest{
				Subscription: p.subscription(topic),
				PushConfig:   &pubsubpb.PushConfig{PushEndpoint: endpoint},
			})
		}
		if err != nil {
			return fmt.Errorf("pipeline: creating push subscription for %s: %w", topic, err)
		}
	}
	return nil
}

func (p *Pipeline) topic(id string) string { return "projects/" + p.project + "/topics/" + id }

func (p *Pipeline) subscription(topic string) string {
	return "projects/" + p.project + "/subscriptions/" + topic + "-push"
}

// documents writes the client and its definition.
func (p *Pipeline) documents(ctx context.Context) (err error) {
	fs, err := p.opts.Stack.Firestore(ctx, p.project)
	if err != nil {
		return err
	}
	p.store = store.FromClient(fs)
	if err := p.store.PutClient(ctx, p.opts.Client); err != nil {
		return err
	}
	d := store.Definition{ID: p.opts.ConversionID, Name: p.opts.ConversionID, SQL: p.opts.SQL,
		Enabled: true, Hash: contract.Hash(p.opts.SQL), Updated: time.Now().UTC(), Author: "localstack"}
	return p.store.PutDefinition(ctx, p.opts.Client.ID, d)
}

// Store returns the pipeline's Firestore store.
func (p *Pipeline) Store() *store.Store { return p.store }

// BigQuery returns the pipeline's BigQuery client.
func (p *Pipeline) BigQuery() *bigquery.Client { return p.bq }

// Stop stops the sink and the functions and closes the clients.
func (p *Pipeline) Stop() error {
	if p.stop != nil {
		p.stop()
		<-p.done
	}
	if p.pub != nil {
		p.pub.Stop()
	}
	var errs []error
	for name, f := range p.funcs {
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGTERM)
		if err := f.cmd.Wait(); err != nil && !isSignal(err) {
			errs = append(errs, fmt.Errorf("pipeline: %s: %w", name, err))
		}
	}
	if p.store != nil {
		p.store.Close()
	}
	if p.ps != nil {
		p.ps.Close()
	}
	if p.bq != nil {
		p.bq.Close()
	}
	if p.tmp != "" {
		os.RemoveAll(p.tmp)
	}
	return errors.Join(errs...)
}

func isSignal(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pipeline: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitPort(ctx context.Context, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not answering on %s after %s", addr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alreadyExists reports whether err says the thing to create exists: a
// 409 from BigQuery's REST API (the local emulator answers 500 "already
// created"), AlreadyExists from Pub/Sub's gRPC one.
func alreadyExists(err error) bool {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && (gerr.Code == http.StatusConflict ||
		strings.Contains(gerr.Message, "already created")) {
		return true
	}
	return status.Code(err) == codes.AlreadyExists
}

// moduleRoot finds the repository root: the nearest folder above the
// working directory whose go.mod declares customconversions.dev.
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module customconversions.dev\n") {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
