package lock_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/lock"
	"berth/storage"
	"berth/storage/storagetest"
)

// Helper processes are this test binary run again with -test.run of
// TestHelperProcess; the environment says what to do.
const (
	envRole   = "BERTH_LOCK_HELPER" // "contend" or "bench"
	envDB     = "BERTH_LOCK_DB"     // storage URL
	envKey    = "BERTH_LOCK_KEY"
	envWorker = "BERTH_LOCK_WORKER" // index of the process
	envRounds = "BERTH_LOCK_ROUNDS" // contend: rounds to take the key
	envFile   = "BERTH_LOCK_FILE"   // contend: the shared log of who is inside
	envBench  = "BERTH_LOCK_BENCH"  // bench: the scenario
	envFor    = "BERTH_LOCK_FOR"    // bench: how long to run, a time.Duration
)

// TestHelperProcess is not a test: it is the body of helper processes.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		return
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{URL: os.Getenv(envDB), SkipMigrate: true})
	if err == nil {
		switch role {
		case "contend":
			err = contend(ctx, db)
		case "bench":
			err = benchWorker(ctx, db)
		default:
			err = fmt.Errorf("unknown helper role %q", role)
		}
		db.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s %s: %v\n", role, os.Getenv(envWorker), err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helperProc is a running helper process.
type helperProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startHelpers starts n helper processes with env (and their index in
// envWorker), waits until each has said "ready", and then tells all to "go",
// so that they start their work together. They are killed when the test
// ends, if still running.
func startHelpers(tb testing.TB, n int, env ...string) []*helperProc {
	tb.Helper()
	procs := make([]*helperProc, n)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(append(os.Environ(), env...), envWorker+"="+strconv.Itoa(i))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			tb.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			tb.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		procs[i] = &helperProc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	}
	for i, p := range procs {
		if line, err := p.out.ReadString('\n'); err != nil || line != "ready\n" {
			tb.Fatalf("helper %d: %q, %v; want ready", i, line, err)
		}
	}
	for _, p := range procs {
		if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
			tb.Fatal(err)
		}
	}
	return procs
}

// result returns the line the helper printed last, once it has exited.
func (p *helperProc) result() (string, error) {
	out, rerr := io.ReadAll(p.out)
	if err := p.cmd.Wait(); err != nil {
		return "", err
	}
	if rerr != nil {
		return "", rerr
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

// readyGo is the helper's side of startHelpers.
func readyGo() error {
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("wait for go: %w", err)
	}
	return nil
}

// contend takes the key again and again in this process. Inside, it logs
// "enter" and "exit" lines to a file all processes append to, and adds one
// to the shared counter by reading it and writing it back under the lock.
// At the end it prints "waits N": how often it found the key held.
func contend(ctx context.Context, db *storage.DB) error {
	rounds, err := strconv.Atoi(os.Getenv(envRounds))
	if err != nil {
		return err
	}
	f, err := os.OpenFile(os.Getenv(envFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	host, _ := os.Hostname()
	me := "task_proc" + os.Getenv(envWorker)
	h := lock.Holder{ID: me, PID: os.Getpid(), Host: host}
	m := lock.NewManager(db.Client, lock.WithLogger(quietLog()))
	c := counter{db}
	key := os.Getenv(envKey)
	waits := 0
	if err := readyGo(); err != nil {
		return err
	}
	for range rounds {
		l, err := m.Acquire(ctx, h, []string{key}, func(*lock.BusyError) { waits++ })
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(f, "enter %s\n", me); err != nil {
			return err
		}
		v, err := c.get(ctx)
		if err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
		if err := m.Fenced(ctx, l, key, func(ctx context.Context) error { return setInTx(ctx, v+1) }); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(f, "exit %s\n", me); err != nil {
			return err
		}
		if err := m.Release(ctx, l); err != nil {
			return err
		}
	}
	fmt.Printf("waits %d\n", waits)
	return nil
}

// Processes contending for one key take it one at a time.
func TestCrossProcess(t *testing.T) {
	const nprocs, rounds = 4, 25
	for _, d := range storagetest.Dialects {
		t.Run(d, func(t *testing.T) {
			cfg := storagetest.Config(t, d)
			db, err := storage.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			c := newCounter(t, db)
			logFile := filepath.Join(t.TempDir(), "inside.log")
			if err := os.WriteFile(logFile, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			procs := startHelpers(t, nprocs, envRole+"=contend", envDB+"="+cfg.URL, envKey+"=app:1",
				envRounds+"="+strconv.Itoa(rounds), envFile+"="+logFile)
			waits := 0
			for i, p := range procs {
				line, err := p.result()
				var n int
				if err == nil {
					_, err = fmt.Sscanf(line, "waits %d", &n)
				}
				if err != nil {
					t.Fatalf("helper %d: %v", i, err)
				}
				waits += n
			}
			if waits == 0 {
				t.Errorf("no process ever found the key held: the test did not contend")
			}

			if n, err := c.get(context.Background()); err != nil || n != nprocs*rounds {
				t.Errorf("counter = %d, %v; want %d", n, err, nprocs*rounds)
			}
			lines := readLines(t, logFile)
			if len(lines) != 2*nprocs*rounds {
				t.Errorf("%d lines in the log, want %d", len(lines), 2*nprocs*rounds)
			}
			for i := 0; i+1 < len(lines); i += 2 {
				who, ok := strings.CutPrefix(lines[i], "enter ")
				if !ok || lines[i+1] != "exit "+who {
					t.Fatalf("log lines %d-%d = %q, %q: want one process entering and leaving", i+1, i+2, lines[i], lines[i+1])
				}
			}
			wantHolders(t, db, map[string]string{"app:1": ""})
		})
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
