package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth/storage"
	"berth/storage/storagetest"
)

// binary is the berth binary built once for all tests: they run it as a
// real subprocess, as an operator would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "berth")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build berth: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `berth serve`.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	log  *bytes.Buffer
}

var servingLine = regexp.MustCompile(`msg=serving url=(http://\S+)`)

func startServe(t testing.TB, cfg storage.Config, env ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data", cfg.DataDir, "--db", cfg.URL)
	// SFTP off unless a test asks: parallel servers would share its port.
	cmd.Env = append(append(os.Environ(), "BERTH_SFTP_LISTEN=off"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1), log: &bytes.Buffer{}}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.log.WriteString(sc.Text() + "\n")
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case s.url = <-urlc:
		return s
	case err := <-s.done:
		t.Fatalf("berth serve exited: %v\n%s", err, s.log)
	case <-time.After(30 * time.Second):
		t.Fatalf("berth serve did not start\n%s", s.log)
	}
	return nil
}

// stop sends SIGTERM and expects a clean exit.
func (s *server) stop(t testing.TB) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("berth serve after SIGTERM: %v\n%s", err, s.log)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("berth serve ignored SIGTERM\n%s", s.log)
	}
}

func login(t *testing.T, url, username, password string) (map[string]any, []any) {
	t.Helper()
	q, _ := json.Marshal(map[string]any{
		"query":     `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { user { username role } } }`,
		"variables": map[string]any{"u": username, "p": password},
	})
	resp, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   map[string]any
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Data, out.Errors
}

func TestServe(t *testing.T) {
	for _, d := range storagetest.Dialects {
		t.Run(d, func(t *testing.T) {
			cfg := storagetest.Config(t, d)
			if cfg.DataDir == "" {
				cfg.DataDir = t.TempDir()
			}
			s := startServe(t, cfg, "BERTH_ADMIN_PASSWORD=first-password")
			if _, errs := login(t, s.url, "admin", "first-password"); errs != nil {
				t.Fatalf("login as the created owner: %v", errs)
			}
			s.stop(t)

			// A second start finds the owner and leaves it alone.
			s = startServe(t, cfg, "BERTH_ADMIN_PASSWORD=other-password")
			if _, errs := login(t, s.url, "admin", "first-password"); errs != nil {
				t.Fatalf("login after restart: %v", errs)
			}
			if _, errs := login(t, s.url, "admin", "other-password"); errs == nil {
				t.Fatalf("restart changed the owner's password")
			}
			s.stop(t)
		})
	}
}

func TestServeGeneratesOwnerPassword(t *testing.T) {
	cfg := storagetest.Config(t, "sqlite3")
	s := startServe(t, cfg, "BERTH_ADMIN_PASSWORD=")
	defer s.stop(t)
	path := filepath.Join(cfg.DataDir, "initial-admin-password")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", path, fi.Mode().Perm())
	}
	pw, _ := os.ReadFile(path)
	if strings.Contains(s.log.String(), strings.TrimSpace(string(pw))) {
		t.Errorf("the generated password is in the log")
	}
	if _, errs := login(t, s.url, "admin", strings.TrimSpace(string(pw))); errs != nil {
		t.Fatalf("login with the generated password: %v", errs)
	}
}

func TestUserAdd(t *testing.T) {
	for _, d := range storagetest.Dialects {
		t.Run(d, func(t *testing.T) {
			cfg := storagetest.Config(t, d)
			if cfg.DataDir == "" {
				cfg.DataDir = t.TempDir()
			}
			tests := []struct {
				name, username, role, stdin string
				wantErr                     string
			}{
				{"admin", "bob", "admin", "bobs password\n", ""},
				{"duplicate", "bob", "user", "another password\n", "exists"},
				{"bad role", "carol", "root", "carols password\n", "role"},
				{"short password", "carol", "user", "short\n", "password"},
				{"bad username", "car ol", "user", "carols password\n", "username"},
				{"user", "carol", "user", "carols password", ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					cmd := exec.CommandContext(ctx, binary, "user", "add", "--username", tt.username, "--role", tt.role,
						"--password-stdin", "--data", cfg.DataDir, "--db", cfg.URL)
					cmd.Stdin = strings.NewReader(tt.stdin)
					out, err := cmd.CombinedOutput()
					if tt.wantErr == "" {
						if err != nil {
							t.Fatalf("user add: %v\n%s", err, out)
						}
						return
					}
					if err == nil || !strings.Contains(string(out), tt.wantErr) {
						t.Fatalf("user add = %v %q, want failure mentioning %q", err, out, tt.wantErr)
					}
				})
			}
			s := startServe(t, cfg)
			defer s.stop(t)
			data, errs := login(t, s.url, "bob", "bobs password")
			if errs != nil || !strings.Contains(fmt.Sprint(data), "role:admin") {
				t.Fatalf("login as bob = %v %v", data, errs)
			}
		})
	}
}

func TestMigrateStatus(t *testing.T) {
	cfg := storagetest.Config(t, "sqlite3")
	run := func(args ...string) string {
		out, err := exec.Command(binary, append(args, "--data", cfg.DataDir, "--db", cfg.URL)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("migrate", "--status"); !strings.Contains(out, "pending") || strings.Contains(out, " 0 pending") {
		t.Fatalf("status of an empty database: %q", out)
	}
	if out := run("migrate"); strings.Contains(out, "applied 0 ") {
		t.Fatalf("migrate of an empty database: %q", out)
	}
	if out := run("migrate"); !strings.Contains(out, "applied 0 ") {
		t.Fatalf("second migrate: %q", out)
	}
	if out := run("migrate", "--status"); !strings.Contains(out, " 0 pending") {
		t.Fatalf("status after migrate: %q", out)
	}
}
