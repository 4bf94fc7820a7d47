package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LocalOptions configure StartLocal.
type LocalOptions struct {
	// Command is the authstore executable.
	Command string
	// Env is the server's environment; nil means this process's.
	Env []string
	// DB is the server's --db; empty means bench.db in a new temporary
	// directory, which Close removes.
	DB string
	// ServerArgs are added after the serve flags StartLocal sets, so they
	// override them.
	ServerArgs []string
	// StartTimeout bounds the time to the first 200 from /readyz; zero
	// means a minute.
	StartTimeout time.Duration
}

// Local is an authstore server StartLocal started as a child process, so
// that its memory and CPU time are measured apart from the load
// generator's. Reading them needs Linux's /proc.
type Local struct {
	cmd          *exec.Cmd
	url          string
	tmpDir       string
	startToReady time.Duration
	idleRSS      int64
	logs         *tailBuffer
	exited       chan struct{}
	waitErr      error
	logLevel     string
}

var _ Process = (*Local)(nil)

// listening starts the line `authstore serve` prints on stdout once it
// listens, followed by its base URL.
const listening = "authstore listening on "

// idleSettle is how long after the first ready answer the idle RSS is read.
const idleSettle = 500 * time.Millisecond

// StartLocal runs `Command serve --addr 127.0.0.1:0 --db DB` plus, when
// the server has them, --ip-rate-limit 0, --ip-refresh-rate-limit 0 and
// --subnet-rate-limit 0 (the whole load comes from one IP) and
// --shutdown-delay 0 (no load balancer to tell), then o.ServerArgs. The
// server logs at its default level (info: an access-log line per request)
// unless o.ServerArgs or AUTHSTORE_LOG_LEVEL in its environment say
// otherwise; LogLevel tells which. It returns once /readyz answers 200 and the idle RSS has
// been read. The caller must Close it.
func StartLocal(ctx context.Context, o LocalOptions) (*Local, error) {
	if o.StartTimeout <= 0 {
		o.StartTimeout = time.Minute
	}
	l := &Local{logs: &tailBuffer{max: 16 << 10}, exited: make(chan struct{})}
	db := o.DB
	if db == "" {
		dir, err := os.MkdirTemp("", "authstore-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		l.tmpDir = dir
		db = filepath.Join(dir, "bench.db")
	}
	l.logLevel = serverLogLevel(o.ServerArgs, o.Env)
	l.cmd = exec.Command(o.Command, serveArgs(ctx, o, db)...)
	l.cmd.Env = o.Env
	l.cmd.Stderr = l.logs
	stdout, err := l.cmd.StdoutPipe()
	if err != nil {
		l.removeTmp()
		return nil, fmt.Errorf("bench: %w", err)
	}
	started := time.Now()
	if err := l.cmd.Start(); err != nil {
		l.removeTmp()
		return nil, fmt.Errorf("bench: starting the server: %w", err)
	}
	go func() {
		l.waitErr = l.cmd.Wait()
		close(l.exited)
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), listening); ok && strings.HasPrefix(u, "http://") {
				select {
				case urls <- strings.Fields(u)[0]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()

	if err := l.waitReady(ctx, urls, started, o.StartTimeout); err != nil {
		l.Close()
		return nil, fmt.Errorf("bench: starting the server: %w\n%s", err, l.logs.String())
	}
	return l, nil
}

// serveArgs returns the arguments of `o.Command serve`: --addr and --db,
// then the rate limits and the shutdown delay turned off when the server's
// help lists them, then o.ServerArgs.
func serveArgs(ctx context.Context, o LocalOptions, db string) []string {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", db}
	helpCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	helpCmd := exec.CommandContext(helpCtx, o.Command, "serve", "--help")
	helpCmd.Env = o.Env
	help, _ := helpCmd.CombinedOutput()
	for _, f := range []string{"ip-rate-limit", "ip-refresh-rate-limit", "subnet-rate-limit", "shutdown-delay"} {
		if strings.Contains(string(help), "--"+f+" ") {
			args = append(args, "--"+f, "0")
		}
	}
	return append(args, o.ServerArgs...)
}

// waitReady waits for the server's listening line on urls, then for a 200
// from its /readyz, then idleSettle, and reads its idle RSS. It fails if
// the server exits, timeout passes or ctx ends first.
func (l *Local) waitReady(ctx context.Context, urls <-chan string, started time.Time, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case l.url = <-urls:
	case <-l.exited:
		return fmt.Errorf("it exited: %v", l.waitErr)
	case <-deadline.C:
		return fmt.Errorf("no %q line within %v", listening, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	for {
		if res, err := hc.Get(l.url + "/readyz"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				l.startToReady = time.Since(started)
				break
			}
		}
		select {
		case <-l.exited:
			return fmt.Errorf("it exited: %v", l.waitErr)
		case <-deadline.C:
			return fmt.Errorf("/readyz not 200 within %v", timeout)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	if !pause(ctx, idleSettle) {
		return ctx.Err()
	}
	var err error
	if l.idleRSS, err = l.RSS(); err != nil {
		return err
	}
	return nil
}

// URL returns the server's base URL.
func (l *Local) URL() string { return l.url }

// PID returns the server's process id.
func (l *Local) PID() int { return l.cmd.Process.Pid }

// StartToReady returns the time from starting the process to its first
// 200 from /readyz.
func (l *Local) StartToReady() time.Duration { return l.startToReady }

// IdleRSS returns the server's RSS in bytes shortly after it became ready.
func (l *Local) IdleRSS() int64 { return l.idleRSS }

// Logs returns the end of what the server wrote to stderr.
func (l *Local) Logs() string { return l.logs.String() }

// RSS returns the server's resident set size now, in bytes (VmRSS).
func (l *Local) RSS() (int64, error) { return procStatusBytes(l.PID(), "VmRSS") }

// PeakRSS returns the server's peak resident set size, in bytes (VmHWM).
func (l *Local) PeakRSS() (int64, error) { return procStatusBytes(l.PID(), "VmHWM") }

// ResetPeakRSS resets the server's VmHWM to its current RSS, by writing 5
// to /proc/PID/clear_refs (Linux 4.0 and later).
func (l *Local) ResetPeakRSS() error {
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/clear_refs", l.PID()), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("bench: resetting the peak RSS: %w", err)
	}
	_, err = f.WriteString("5")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bench: resetting the peak RSS: %w", err)
	}
	return nil
}

// CPU returns the server's user and system CPU time so far.
func (l *Local) CPU() (time.Duration, error) { return procCPU(l.PID()) }

// Stats returns what is known of the server apart from a run.
func (l *Local) Stats() ServerStats {
	return ServerStats{IdleRSSBytes: l.idleRSS, StartToReadyMillis: ms(l.startToReady), LogLevel: l.logLevel}
}

// LogLevel returns the server's log level: the last --log-level of its
// arguments, else AUTHSTORE_LOG_LEVEL from its environment, else "info".
func (l *Local) LogLevel() string { return l.logLevel }

// serverLogLevel is the log level a server started with args and env (nil
// for this process's) runs at.
func serverLogLevel(args, env []string) string {
	level := ""
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "log-level" || a == name {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value = args[i+1]
		}
		level = value
	}
	if level != "" {
		return level
	}
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "AUTHSTORE_LOG_LEVEL="); ok && v != "" {
			level = v
		}
	}
	if level != "" {
		return level
	}
	return "info"
}

// Close stops the server with SIGTERM, or SIGKILL if it has not exited 20
// seconds later, and removes the temporary directory. It returns an error
// if the server did not exit cleanly.
func (l *Local) Close() error {
	defer l.removeTmp()
	select {
	case <-l.exited:
		return l.exitErr()
	default:
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
		return l.exitErr()
	case <-time.After(20 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.exited
		return errors.New("bench: the server did not stop within 20s of SIGTERM and was killed")
	}
}

func (l *Local) exitErr() error {
	if l.waitErr != nil {
		return fmt.Errorf("bench: the server exited: %w", l.waitErr)
	}
	return nil
}

func (l *Local) removeTmp() {
	if l.tmpDir != "" {
		os.RemoveAll(l.tmpDir)
	}
}

// procStatusBytes reads a "Name:   N kB" line of /proc/PID/status.
func procStatusBytes(pid int, name string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return parseStatusBytes(string(b), name)
}

func parseStatusBytes(status, name string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("bench: no %s in /proc status", name)
}

// userHZ is the unit of the times in /proc/PID/stat (USER_HZ), 100 per
// second on every Linux architecture Go supports.
const userHZ = 100

// procCPU reads utime+stime of /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return parseStatCPU(string(b))
}

func parseStatCPU(stat string) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may hold spaces;
	// fields 14 and 15 (utime, stime) are the 12th and 13th after it.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("bench: malformed /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("bench: malformed /proc stat")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: malformed /proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// LocalPostgres is the CPU time of every PostgreSQL process on this
// machine (/proc/PID/comm "postgres": the postmaster, its backends and
// auxiliary processes), for a server whose database runs here. The server's
// connections are pooled, so the backends serving it live through a
// measuring window; a process that ends inside the window takes its CPU
// time with it, which undercounts.
type LocalPostgres struct{}

// CPU returns the user and system CPU time of the PostgreSQL processes now
// running.
func (LocalPostgres) CPU() (time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		if cpu, err := procCPU(pid); err == nil {
			total += cpu
		}
	}
	return total, nil
}
