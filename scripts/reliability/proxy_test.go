package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// bqProxy is a reverse proxy on loopback between the functions and the
// BigQuery emulator. It forwards each call on a context of its own, so
// that a handler whose context ends mid-call (an instance killed, a
// deadline) never abandons a request to the emulator, which can break
// the emulator's database for good. Rules make chosen calls fail the
// way BigQuery fails where the emulator itself cannot.
type bqProxy struct {
	t        *testing.T
	upstream string // the emulator's host:port
	addr     string // the proxy's own host:port
	client   *http.Client

	srvMu  sync.Mutex
	srv    *http.Server  // nil while down
	downed chan struct{} // closed when the port closes

	mu       sync.Mutex
	rules    []*rule
	fakeJobs map[string][]byte // job id -> the failed job resource answered for it
	calls    []call
}

// call is one request to the proxy, as far as the rules look at it.
type call struct {
	Method string
	Kind   string // insert, get, results, query or other
	JobID  string
	SQL    string
	Labels map[string]string
}

// rule acts on the calls that match it.
type rule struct {
	match func(call) bool
	// left is how many more matching calls the rule takes; -1 is all.
	left int
	// failJob, when set, makes a matching insert start no job: the proxy
	// answers it with a finished job that failed with this reason and
	// message, and keeps answering for that job id, as BigQuery would
	// for a job that failed as a whole.
	failJob *jobError
	// status, when not zero, answers a matching call with this HTTP
	// error, reason and message, as BigQuery answers a call it refuses.
	status          int
	reason, message string
	// after runs when the emulator has answered a forwarded matching
	// call, before the answer goes back to the caller.
	after func(call)
}

type jobError struct{ Reason, Message string }

func newBQProxy(t *testing.T, upstream string) *bqProxy {
	t.Helper()
	p := &bqProxy{
		t:        t,
		upstream: upstream,
		addr:     "127.0.0.1:" + strconv.Itoa(freePort(t)),
		client:   &http.Client{Transport: &http.Transport{Proxy: nil}},
		fakeJobs: map[string][]byte{},
	}
	p.up()
	t.Cleanup(p.down)
	return p
}

// Host returns the proxy's host:port, for the functions' configuration.
func (p *bqProxy) Host() string { return p.addr }

// down closes the proxy's port and its connections: to the functions,
// BigQuery is unreachable (connection refused) until up.
func (p *bqProxy) down() {
	p.srvMu.Lock()
	defer p.srvMu.Unlock()
	if p.srv != nil {
		p.srv.Close()
		p.srv = nil
		close(p.downed)
	}
}

// wentDown returns a channel closed when the port next closes (or now,
// if it is closed).
func (p *bqProxy) wentDown() <-chan struct{} {
	p.srvMu.Lock()
	defer p.srvMu.Unlock()
	return p.downed
}

// up serves on the proxy's port again.
func (p *bqProxy) up() {
	p.srvMu.Lock()
	defer p.srvMu.Unlock()
	if p.srv != nil {
		return
	}
	var l net.Listener
	var err error
	for range 100 { // the port of a server just closed may take a moment to free
		if l, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: %v", err)
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve)}
	p.downed = make(chan struct{})
	go p.srv.Serve(l)
}

// add installs a rule; later rules are looked at after earlier ones.
func (p *bqProxy) add(r *rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, r)
}

// clear removes every rule; jobs already failed stay failed.
func (p *bqProxy) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// fakeJobIDs returns the ids of the jobs the proxy failed itself.
func (p *bqProxy) fakeJobIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for id := range p.fakeJobs {
		ids = append(ids, id)
	}
	return ids
}

var (
	jobPathRE     = regexp.MustCompile(`/projects/([^/]+)/jobs/([^/?]+)$`)
	resultsPathRE = regexp.MustCompile(`/projects/([^/]+)/queries/([^/?]+)$`)
	insertPathRE  = regexp.MustCompile(`/projects/([^/]+)/jobs$`)
	queryPathRE   = regexp.MustCompile(`/projects/([^/]+)/queries$`)
)

// insertBody is the part of a jobs.insert body the rules look at.
type insertBody struct {
	JobReference struct {
		ProjectID string `json:"projectId"`
		JobID     string `json:"jobId"`
		Location  string `json:"location"`
	} `json:"jobReference"`
	Configuration struct {
		Query *struct {
			Query string `json:"query"`
		} `json:"query"`
		Labels map[string]string `json:"labels"`
	} `json:"configuration"`
}

func (p *bqProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := call{Method: r.Method, Kind: "other"}
	var ins insertBody
	switch path := r.URL.Path; {
	case r.Method == http.MethodPost && insertPathRE.MatchString(path):
		c.Kind = "insert"
		if json.Unmarshal(body, &ins) == nil {
			c.JobID, c.Labels = ins.JobReference.JobID, ins.Configuration.Labels
			if q := ins.Configuration.Query; q != nil {
				c.SQL = q.Query
			}
		}
	case r.Method == http.MethodPost && queryPathRE.MatchString(path):
		c.Kind = "query"
	case r.Method == http.MethodGet && jobPathRE.MatchString(path):
		c.Kind, c.JobID = "get", jobPathRE.FindStringSubmatch(path)[2]
	case r.Method == http.MethodGet && resultsPathRE.MatchString(path):
		c.Kind, c.JobID = "results", resultsPathRE.FindStringSubmatch(path)[2]
	}

	p.mu.Lock()
	p.calls = append(p.calls, c)
	fake, isFake := p.fakeJobs[c.JobID]
	var hit *rule
	for _, rl := range p.rules {
		if rl.left != 0 && rl.match(c) {
			if rl.left > 0 {
				rl.left--
			}
			hit = rl
			break
		}
	}
	if hit != nil && hit.failJob != nil && c.Kind == "insert" && !isFake {
		fake = failedJob(ins, *hit.failJob)
		p.fakeJobs[c.JobID] = fake
		p.mu.Unlock()
		writeJSON(w, http.StatusOK, fake)
		return
	}
	p.mu.Unlock()

	switch {
	case isFake:
		p.answerFake(w, c, fake)
		return
	case hit != nil && hit.status != 0:
		writeJSON(w, hit.status, apiError(hit.status, hit.reason, hit.message))
		return
	}
	p.forward(w, r, body)
	if hit != nil && hit.after != nil {
		hit.after(c)
	}
}

// answerFake answers a call about a job the proxy failed: the job exists
// (a second insert of its id is refused) and is done with its error.
func (p *bqProxy) answerFake(w http.ResponseWriter, c call, job []byte) {
	switch c.Kind {
	case "insert":
		writeJSON(w, http.StatusConflict, apiError(http.StatusConflict, "duplicate",
			"Already Exists: Job "+c.JobID))
	case "results":
		var j struct {
			JobReference json.RawMessage `json:"jobReference"`
		}
		_ = json.Unmarshal(job, &j)
		b, _ := json.Marshal(map[string]any{"kind": "bigquery#getQueryResultsResponse",
			"jobReference": j.JobReference, "jobComplete": true, "totalRows": "0"})
		writeJSON(w, http.StatusOK, b)
	default:
		writeJSON(w, http.StatusOK, job)
	}
}

// forward sends the call to the emulator on a context that the caller
// cannot cancel, and copies the answer back.
func (p *bqProxy) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Minute)
	defer cancel()
	u := *r.URL
	u.Scheme, u.Host = "http", p.upstream
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range r.Header {
		if k == "Accept-Encoding" || k == "Content-Length" {
			continue
		}
		out.Header[k] = vs
	}
	resp, err := p.client.Do(out)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, apiError(http.StatusBadGateway, "backendError",
			"the emulator did not answer: "+err.Error()))
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, apiError(http.StatusBadGateway, "backendError",
			"the emulator's answer broke off: "+err.Error()))
		return
	}
	for k, vs := range resp.Header {
		if k == "Content-Length" || k == "Content-Encoding" {
			continue
		}
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(b)
}

// failedJob is the job resource of a query job that failed as a whole.
func failedJob(ins insertBody, e jobError) []byte {
	ref := ins.JobReference
	if ref.Location == "" {
		ref.Location = "US"
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	errs := map[string]string{"reason": e.Reason, "message": e.Message}
	b, _ := json.Marshal(map[string]any{
		"kind":         "bigquery#job",
		"id":           ref.ProjectID + ":" + ref.Location + "." + ref.JobID,
		"jobReference": ref,
		"configuration": map[string]any{
			"jobType": "QUERY",
			"query":   map[string]any{"query": querySQL(ins)},
			"labels":  ins.Configuration.Labels,
		},
		"status": map[string]any{"state": "DONE", "errorResult": errs,
			"errors": []map[string]string{errs}},
		"statistics": map[string]any{"creationTime": now, "startTime": now, "endTime": now,
			"query": map[string]any{}},
	})
	return b
}

func querySQL(ins insertBody) string {
	if ins.Configuration.Query == nil {
		return ""
	}
	return ins.Configuration.Query.Query
}

func apiError(code int, reason, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"errors": []map[string]string{{"reason": reason, "message": msg}}}})
	return b
}

func writeJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	w.Write(b)
}

// step matches the calls about jobs of one step of a run, by job id.
func step(run, name string) func(call) bool {
	re := regexp.MustCompile(`_` + regexp.QuoteMeta(run) + `_` + name + `(_[0-9]+)?$`)
	return func(c call) bool { return re.MatchString(c.JobID) }
}

// inserts matches the inserts of a step's jobs.
func inserts(run, name string) func(call) bool {
	m := step(run, name)
	return func(c call) bool { return c.Kind == "insert" && m(c) }
}

func (c call) String() string { return fmt.Sprintf("%s %s %s", c.Method, c.Kind, c.JobID) }
