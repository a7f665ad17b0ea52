package emulators

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one emulator running in a process group of its own, so that
// the Java servers started by the gcloud wrapper stop with it.
type process struct {
	name  string
	cmd   *exec.Cmd
	guard *exec.Cmd // the watchdog (see watchdog)
	once  sync.Once // ends the watchdog once
	out   *tailBuffer
	done  chan struct{} // closed when the started command has exited
	err   error         // the command's exit status, set before done closes
}

// watchdog ends the process group $1 when its standard input ends. Its
// input is a pipe whose only writer is this process: if this process dies
// without calling Stop (a test binary killed on timeout, a crash), the
// pipe closes and the watchdog stops the emulator, so that none outlives
// its owner. Stop kills the watchdog first.
const watchdog = `read -r _
kill -s TERM -- "-$1" 2>/dev/null || exit 0
for i in 1 2 3 4 5 6 7 8 9 10; do
	sleep 1
	kill -s 0 -- "-$1" 2>/dev/null || exit 0
done
kill -s KILL -- "-$1" 2>/dev/null
exit 0`

// startProcess runs name with args in a new process group, watched by a
// watchdog. Its output goes to a bounded buffer (quoted in errors) and,
// when tee is not nil, to tee as well.
func startProcess(label string, env []string, tee io.Writer, name string,
	args ...string) (*process, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &tailBuffer{max: 16 << 10}
	var w io.Writer = out
	if tee != nil {
		w = io.MultiWriter(out, &prefixWriter{prefix: "[" + label + "] ", w: tee})
	}
	cmd.Stdout = w
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("emulators: starting %s: %w", label, err)
	}
	p := &process{name: label, cmd: cmd, out: out, done: make(chan struct{})}
	pgid := strconv.Itoa(cmd.Process.Pid)
	guard := exec.Command("/bin/sh", "-c", watchdog, "watchdog-"+label, pgid)
	guard.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	_, err := guard.StdinPipe()
	if err == nil {
		err = guard.Start()
	}
	if err != nil {
		err = fmt.Errorf("emulators: watchdog for %s: %w", label, err)
		err = errors.Join(err, p.stopGroup(0))
		go cmd.Wait() // reap it
		return nil, err
	}
	p.guard = guard
	go func() {
		p.err = cmd.Wait()
		p.stopGuard() // the group is gone: its id may be reused
		close(p.done)
	}()
	return p, nil
}

// stopGuard ends the watchdog without letting it signal anything.
func (p *process) stopGuard() {
	p.once.Do(func() {
		if p.guard == nil {
			return
		}
		_ = p.guard.Process.Kill()
		_ = p.guard.Wait() // closes the pipe too
	})
}

// waitHTTP polls url until it answers 200, the process exits, or the
// deadline passes. Failures quote the emulator's output.
func (p *process) waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: loopbackTransport()}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if ok := probe(ctx, client, url); ok {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("emulators: %s exited before it was ready (%v); its output:\n%s",
				p.name, p.err, p.out.String())
		case <-ctx.Done():
			return fmt.Errorf("emulators: %s not ready at %s after %s: %w; its output:\n%s",
				p.name, url, timeout, ctx.Err(), p.out.String())
		case <-tick.C:
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// loopbackTransport never uses a proxy: every probe goes to 127.0.0.1.
func loopbackTransport() *http.Transport {
	return &http.Transport{Proxy: nil, DisableKeepAlives: true}
}

// stop ends the watchdog, then the whole process group: SIGTERM, then
// SIGKILL after grace. It returns once no live member of the group is
// left.
func (p *process) stop(grace time.Duration) error {
	p.stopGuard()
	if err := p.stopGroup(grace); err != nil {
		return err
	}
	// A process that left the group may still hold the output pipe;
	// the group itself is gone, which is what Stop promises.
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
	}
	return nil
}

func (p *process) stopGroup(grace time.Duration) error {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	if waitGroupGone(pgid, grace) {
		return nil
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if waitGroupGone(pgid, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("emulators: %s: process group %d still running after SIGKILL", p.name, pgid)
}

// waitGroupGone polls until the process group pgid has no live member.
func waitGroupGone(pgid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if !groupAlive(pgid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupAlive reports whether the group has a member that is not a zombie.
// Where /proc is readable, zombies (exited children that init has not yet
// reaped) do not count; elsewhere any member does.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		state, group, ok := parseStat(string(b))
		if ok && group == pgid && state != "Z" && state != "X" {
			return true
		}
	}
	return false
}

// parseStat reads the state and process group from a /proc/PID/stat line,
// whose second field (the command) may itself hold spaces and parentheses.
func parseStat(s string) (state string, pgid int, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return "", 0, false
	}
	pgid, err := strconv.Atoi(f[2])
	if err != nil {
		return "", 0, false
	}
	return f[0], pgid, true
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("emulators: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent
// use.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - b.max; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// prefixWriter writes each line it is given to w behind prefix.
type prefixWriter struct {
	mu      sync.Mutex
	prefix  string
	w       io.Writer
	midLine bool
}

func (pw *prefixWriter) Write(p []byte) (int, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	var b bytes.Buffer
	for _, c := range p {
		if !pw.midLine {
			b.WriteString(pw.prefix)
			pw.midLine = true
		}
		b.WriteByte(c)
		if c == '\n' {
			pw.midLine = false
		}
	}
	if _, err := pw.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}
