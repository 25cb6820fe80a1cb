package fileaccess_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"berth/app"
	"berth/fileaccess"
	"berth/gid"
)

// fakeUsers is a Users whose apps and operators tests change while the
// server runs.
type fakeUsers struct {
	mu        sync.Mutex
	passwords map[string]string // username -> password
	admins    map[string]bool
	apps      map[string]string   // location -> app ID
	operates  map[string][]string // username -> locations
	volumes   map[string]string   // name -> host path, for admins
}

func (f *fakeUsers) Login(_ context.Context, username, password string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.passwords[username]; !ok || p != password {
		return "", false, fileaccess.ErrInvalidCredentials
	}
	return "id-" + username, f.admins[username], nil
}

func (f *fakeUsers) VisibleApps(_ context.Context, userID string, isAdmin bool) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if isAdmin {
		return maps.Clone(f.apps), nil
	}
	m := map[string]string{}
	for _, loc := range f.operates[strings.TrimPrefix(userID, "id-")] {
		m[loc] = f.apps[loc]
	}
	return m, nil
}

func (f *fakeUsers) VisibleVolumes(_ context.Context, _ string, isAdmin bool) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !isAdmin {
		return map[string]string{}, nil
	}
	return maps.Clone(f.volumes), nil
}

func (f *fakeUsers) addApp(loc, id string, operators ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[loc] = id
	for _, u := range operators {
		f.operates[u] = append(f.operates[u], loc)
	}
}

const password = "correct horse"

// env is a running server over a data root with the apps wiki and blog,
// each holding hello.txt, and a directory outside every app.
type env struct {
	root    string // data root
	outside string // directory in the data root no user may reach
	users   *fakeUsers
	srv     *fileaccess.Server
	addr    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		root: t.TempDir(),
		users: &fakeUsers{
			passwords: map[string]string{"admin": password, "op": password, "nobody": password},
			admins:    map[string]bool{"admin": true},
			apps:      map[string]string{},
			operates:  map[string][]string{},
		},
	}
	e.outside = filepath.Join(e.root, "private")
	e.addApp(t, "wiki", "app_wiki", "op")
	e.addApp(t, "blog", "app_blog")
	writeFile(t, filepath.Join(e.outside, "secret.txt"), "secret")
	e.srv, e.addr = start(t, e.root, filepath.Join(e.root, "sftp", "host_key"), e.users)
	return e
}

// addApp creates an app's data directory with hello.txt holding its
// location, then makes the app visible.
func (e *env) addApp(t *testing.T, loc, id string, operators ...string) {
	t.Helper()
	writeFile(t, filepath.Join(e.dataDir(id), "hello.txt"), loc)
	e.users.addApp(loc, id, operators...)
}

// dataDir is where berth keeps an app's data: the server must agree.
func (e *env) dataDir(id string) string { return app.DataDir(e.root, gid.ID(id)) }

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start runs a server until the test ends and checks that it then stops
// cleanly.
func start(t *testing.T, dataRoot, hostKey string, users fileaccess.Users) (*fileaccess.Server, string) {
	t.Helper()
	srv, err := fileaccess.New(fileaccess.Config{
		DataRoot:    dataRoot,
		HostKeyPath: hostKey,
		Users:       users,
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return srv, ln.Addr().String()
}

func dialSSH(addr, username, pass string, hostKey ssh.PublicKey) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            username,
		Auth:            []ssh.AuthMethod{ssh.Password(pass)},
		HostKeyCallback: ssh.FixedHostKey(hostKey),
		Timeout:         10 * time.Second,
	})
}

// connect logs in as username and returns an SFTP client.
func (e *env) connect(t *testing.T, username string) *sftp.Client {
	t.Helper()
	conn, err := dialSSH(e.addr, username, password, e.srv.HostKey())
	if err != nil {
		t.Fatalf("log in as %s: %v", username, err)
	}
	c, err := sftp.NewClient(conn)
	if err != nil {
		conn.Close()
		t.Fatalf("start sftp as %s: %v", username, err)
	}
	t.Cleanup(func() { c.Close(); conn.Close() })
	return c
}

func names(t *testing.T, c *sftp.Client, dir string) []string {
	t.Helper()
	infos, err := c.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	var out []string
	for _, fi := range infos {
		out = append(out, fi.Name())
	}
	slices.Sort(out)
	return out
}

func readAll(c *sftp.Client, name string) (string, error) {
	f, err := c.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func TestVisibility(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		user     string
		wantRoot []string
		readable []string // locations whose hello.txt the user reads
		hidden   []string // locations the user must not reach
	}{
		{user: "admin", wantRoot: []string{"blog", "wiki"}, readable: []string{"blog", "wiki"}},
		{user: "op", wantRoot: []string{"wiki"}, readable: []string{"wiki"}, hidden: []string{"blog"}},
		{user: "nobody", wantRoot: nil, hidden: []string{"blog", "wiki"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			c := e.connect(t, tt.user)
			if got := names(t, c, "/"); !slices.Equal(got, tt.wantRoot) {
				t.Errorf("root lists %q, want %q", got, tt.wantRoot)
			}
			for _, loc := range tt.readable {
				got, err := readAll(c, "/"+loc+"/hello.txt")
				if err != nil || got != loc {
					t.Errorf("read /%s/hello.txt = %q, %v; want %q", loc, got, err, loc)
				}
			}
			for _, loc := range tt.hidden {
				if _, err := c.Stat("/" + loc); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("stat /%s: %v, want not exist", loc, err)
				}
				if _, err := readAll(c, "/"+loc+"/hello.txt"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("read /%s/hello.txt: %v, want not exist", loc, err)
				}
				if _, err := c.Create("/" + loc + "/new.txt"); err == nil {
					t.Errorf("created /%s/new.txt", loc)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(e.dataDir("app_blog"), "new.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a hidden app got a file: %v", err)
	}
}

func TestOperations(t *testing.T) {
	e := newEnv(t)
	c := e.connect(t, "op")
	host := e.dataDir("app_wiki")

	steps := []struct {
		name string
		do   func() error
		// check inspects the host directory after the step.
		check func(t *testing.T)
	}{
		{
			name: "mkdir",
			do:   func() error { return c.Mkdir("/wiki/docs") },
			check: func(t *testing.T) {
				if fi, err := os.Stat(filepath.Join(host, "docs")); err != nil || !fi.IsDir() {
					t.Errorf("docs on host: %v, %v", fi, err)
				}
			},
		},
		{
			name: "write",
			do: func() error {
				f, err := c.Create("/wiki/docs/page.md")
				if err != nil {
					return err
				}
				if _, err := f.Write([]byte("# hello")); err != nil {
					f.Close()
					return err
				}
				return f.Close()
			},
			check: func(t *testing.T) {
				if b, err := os.ReadFile(filepath.Join(host, "docs", "page.md")); err != nil || string(b) != "# hello" {
					t.Errorf("page.md on host = %q, %v", b, err)
				}
			},
		},
		{
			name: "stat",
			do: func() error {
				fi, err := c.Stat("/wiki/docs/page.md")
				if err == nil && (fi.Size() != 7 || fi.Name() != "page.md") {
					return errors.New("wrong stat: " + fi.Name())
				}
				return err
			},
		},
		{
			name: "chmod",
			do:   func() error { return c.Chmod("/wiki/docs/page.md", 0o4600) },
			check: func(t *testing.T) {
				// The setuid bit is dropped on purpose.
				if fi, err := os.Stat(filepath.Join(host, "docs", "page.md")); err != nil || fi.Mode() != 0o600 {
					t.Errorf("mode on host = %v, %v; want 0600", fi.Mode(), err)
				}
			},
		},
		{
			name: "rename",
			do:   func() error { return c.Rename("/wiki/docs/page.md", "/wiki/page.md") },
			check: func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(host, "page.md")); err != nil {
					t.Errorf("renamed file: %v", err)
				}
			},
		},
		{
			name: "rename onto an existing file fails",
			do: func() error {
				if err := c.Rename("/wiki/page.md", "/wiki/hello.txt"); err == nil {
					return errors.New("rename replaced hello.txt")
				}
				return nil
			},
			check: func(t *testing.T) {
				if b, _ := os.ReadFile(filepath.Join(host, "hello.txt")); string(b) != "wiki" {
					t.Errorf("hello.txt = %q", b)
				}
			},
		},
		{
			name: "posix rename replaces",
			do:   func() error { return c.PosixRename("/wiki/page.md", "/wiki/hello.txt") },
			check: func(t *testing.T) {
				if b, _ := os.ReadFile(filepath.Join(host, "hello.txt")); string(b) != "# hello" {
					t.Errorf("hello.txt = %q", b)
				}
			},
		},
		{
			name: "remove",
			do:   func() error { return c.Remove("/wiki/hello.txt") },
			check: func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(host, "hello.txt")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("removed file: %v", err)
				}
			},
		},
		{
			name: "rmdir",
			do:   func() error { return c.RemoveDirectory("/wiki/docs") },
			check: func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(host, "docs")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("removed dir: %v", err)
				}
			},
		},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.check != nil {
			t.Run(s.name, s.check)
		}
	}
	if got := names(t, c, "/wiki"); len(got) != 0 {
		t.Errorf("/wiki lists %q after cleanup, want nothing", got)
	}
}

func TestReadOnlyRoots(t *testing.T) {
	e := newEnv(t)
	c := e.connect(t, "admin")
	tests := []struct {
		name string
		do   func() error
	}{
		{"create a file in the root", func() error { _, err := c.Create("/x.txt"); return err }},
		{"mkdir in the root", func() error { return c.Mkdir("/newapp") }},
		{"remove an app", func() error { return c.RemoveDirectory("/wiki") }},
		{"rename an app", func() error { return c.Rename("/wiki", "/wiki2") }},
		{"chmod an app", func() error { return c.Chmod("/wiki", 0o777) }},
		{"move between apps", func() error { return c.Rename("/wiki/hello.txt", "/blog/moved.txt") }},
		{"symlink", func() error { return c.Symlink("/wiki/hello.txt", "/wiki/link") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err == nil {
				t.Error("succeeded")
			}
		})
	}
	entries, err := os.ReadDir(filepath.Join(e.root, "apps"))
	if err != nil || len(entries) != 2 {
		t.Errorf("apps dir changed: %v, %v", entries, err)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir("app_wiki"), "hello.txt")); err != nil {
		t.Errorf("hello.txt moved: %v", err)
	}
}

func TestEscapes(t *testing.T) {
	e := newEnv(t)
	wiki := e.dataDir("app_wiki")
	links := map[string]string{
		"out-dir":  e.outside,                              // absolute, to a directory
		"out-file": filepath.Join(e.outside, "secret.txt"), // absolute, to a file
		"out-rel":  "../../../private",                     // relative, climbing out
		"blog":     "../../app_blog/data",                  // into an app op does not see
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(wiki, name)); err != nil {
			t.Fatal(err)
		}
	}
	c := e.connect(t, "op")

	reads := []string{
		"/wiki/../blog/hello.txt",
		"/../../apps/app_blog/data/hello.txt",
		"/wiki/../../private/secret.txt",
		"/wiki/out-dir/secret.txt",
		"/wiki/out-file",
		"/wiki/out-rel/secret.txt",
		"/wiki/blog/hello.txt",
	}
	for _, p := range reads {
		t.Run("read "+p, func(t *testing.T) {
			if got, err := readAll(c, p); err == nil {
				t.Errorf("read %q", got)
			}
		})
	}
	writes := []string{
		"/wiki/out-dir/evil.txt",
		"/wiki/out-rel/evil.txt",
		"/wiki/blog/evil.txt",
		"/wiki/../blog/evil.txt",
	}
	for _, p := range writes {
		t.Run("write "+p, func(t *testing.T) {
			if f, err := c.Create(p); err == nil {
				f.Close()
				t.Error("created")
			}
		})
	}
	t.Run("write through a file link", func(t *testing.T) {
		f, err := c.OpenFile("/wiki/out-file", os.O_WRONLY|os.O_TRUNC)
		if err == nil {
			f.Write([]byte("pwned"))
			f.Close()
		}
		if b, _ := os.ReadFile(filepath.Join(e.outside, "secret.txt")); string(b) != "secret" {
			t.Errorf("secret.txt = %q", b)
		}
	})
	for _, dir := range []string{e.outside, e.dataDir("app_blog")} {
		if _, err := os.Stat(filepath.Join(dir, "evil.txt")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("evil.txt in %s: %v", dir, err)
		}
	}
	// Links inside the app keep working.
	if err := os.Symlink("hello.txt", filepath.Join(wiki, "in")); err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(c, "/wiki/in"); err != nil || got != "wiki" {
		t.Errorf("read through an inside link = %q, %v", got, err)
	}
}

func TestChangesApplyWithoutRestart(t *testing.T) {
	e := newEnv(t)
	admin := e.connect(t, "admin")
	op := e.connect(t, "op")
	if got := names(t, admin, "/"); !slices.Equal(got, []string{"blog", "wiki"}) {
		t.Fatalf("admin root = %q", got)
	}

	e.addApp(t, "chat", "app_chat", "op")

	tests := []struct {
		user string
		c    *sftp.Client
		want []string
	}{
		{"admin", admin, []string{"blog", "chat", "wiki"}},
		{"op", op, []string{"chat", "wiki"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			if got := names(t, tt.c, "/"); !slices.Equal(got, tt.want) {
				t.Errorf("root = %q, want %q", got, tt.want)
			}
			if got, err := readAll(tt.c, "/chat/hello.txt"); err != nil || got != "chat" {
				t.Errorf("read /chat/hello.txt = %q, %v", got, err)
			}
		})
	}
}

func TestLoginRejected(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ user, pass string }{
		{"admin", "wrong"},
		{"admin", ""},
		{"ghost", password},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.pass, func(t *testing.T) {
			conn, err := dialSSH(e.addr, tt.user, tt.pass, e.srv.HostKey())
			if err == nil {
				conn.Close()
				t.Fatal("logged in")
			}
			if !strings.Contains(err.Error(), "unable to authenticate") {
				t.Errorf("error %v, want an authentication failure", err)
			}
		})
	}
}

func TestShellRefused(t *testing.T) {
	e := newEnv(t)
	conn, err := dialSSH(e.addr, "admin", password, e.srv.HostKey())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, cmd := range []string{"ls /", "cat /etc/passwd"} {
		sess, err := conn.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		sess.Stdout, sess.Stderr = &stdout, &stderr
		err = sess.Run(cmd)
		sess.Close()
		var exit *ssh.ExitError
		if !errors.As(err, &exit) || exit.ExitStatus() != 1 {
			t.Errorf("run %q: %v, want exit status 1", cmd, err)
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), "only offers SFTP") {
			t.Errorf("run %q: stdout %q, stderr %q", cmd, stdout.String(), stderr.String())
		}
	}
}

func TestHostKeyPersists(t *testing.T) {
	root := t.TempDir()
	keyPath := filepath.Join(root, "sftp", "host_key")
	users := &fakeUsers{passwords: map[string]string{"admin": password}, admins: map[string]bool{"admin": true}}

	first, _ := start(t, root, keyPath, users)
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", fi.Mode().Perm())
	}
	if got := first.HostKey().Type(); got != ssh.KeyAlgoED25519 {
		t.Errorf("host key type %s, want ed25519", got)
	}

	second, addr := start(t, root, keyPath, users)
	if a, b := ssh.FingerprintSHA256(first.HostKey()), ssh.FingerprintSHA256(second.HostKey()); a != b {
		t.Fatalf("host key changed across restarts: %s then %s", a, b)
	}
	// A client that trusted the first server trusts the second.
	conn, err := dialSSH(addr, "admin", password, first.HostKey())
	if err != nil {
		t.Fatalf("connect with the first key: %v", err)
	}
	conn.Close()

	other, _ := start(t, root, filepath.Join(root, "other_key"), users)
	if ssh.FingerprintSHA256(other.HostKey()) == ssh.FingerprintSHA256(first.HostKey()) {
		t.Error("a new key path reused the old key")
	}
}

func TestServeEndsSessions(t *testing.T) {
	root := t.TempDir()
	users := &fakeUsers{passwords: map[string]string{"admin": password}, admins: map[string]bool{"admin": true}}
	srv, err := fileaccess.New(fileaccess.Config{DataRoot: root, HostKeyPath: filepath.Join(root, "key"), Users: users})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	conn, err := dialSSH(ln.Addr().String(), "admin", password, srv.HostKey())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := c.ReadDir("/"); err == nil {
		t.Error("session still open after Serve returned")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("listener still open")
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	dir := t.TempDir()
	users := &fakeUsers{}
	tests := []struct {
		name string
		cfg  fileaccess.Config
	}{
		{"no data root", fileaccess.Config{HostKeyPath: filepath.Join(dir, "k"), Users: users}},
		{"no host key", fileaccess.Config{DataRoot: dir, Users: users}},
		{"no users", fileaccess.Config{DataRoot: dir, HostKeyPath: filepath.Join(dir, "k")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := fileaccess.New(tt.cfg); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}

func TestListenAndServe(t *testing.T) {
	dir := t.TempDir()
	users := &fakeUsers{passwords: map[string]string{"admin": password}, admins: map[string]bool{"admin": true}}
	tests := []struct {
		listen  string
		wantErr bool
	}{
		{listen: "127.0.0.1:0"},
		{listen: "127.0.0.1:-1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.listen, func(t *testing.T) {
			srv, err := fileaccess.New(fileaccess.Config{Listen: tt.listen, DataRoot: dir, HostKeyPath: filepath.Join(dir, "k"), Users: users})
			if err != nil {
				t.Fatal(err)
			}
			// A context that ends soon stops a server that did start.
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if err := srv.ListenAndServe(ctx); (err != nil) != tt.wantErr {
				t.Errorf("ListenAndServe = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// Volumes appear in the root as "@<name>" for admins only, and files
// written there land in the volume's host directory.
func TestVolumes(t *testing.T) {
	e := newEnv(t)
	shared := t.TempDir()
	e.users.mu.Lock()
	e.users.volumes = map[string]string{"shared": shared}
	e.users.mu.Unlock()

	admin := e.connect(t, "admin")
	if got := names(t, admin, "/"); !slices.Equal(got, []string{"@shared", "blog", "wiki"}) {
		t.Fatalf("admin's root: %q", got)
	}
	f, err := admin.Create("/@shared/report.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("numbers")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, err := os.ReadFile(filepath.Join(shared, "report.txt")); err != nil || string(b) != "numbers" {
		t.Fatalf("file in the volume: %q %v", b, err)
	}

	op := e.connect(t, "op")
	if got := names(t, op, "/"); !slices.Equal(got, []string{"wiki"}) {
		t.Fatalf("operator's root: %q", got)
	}
	if _, err := readAll(op, "/@shared/report.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an operator read a volume: %v", err)
	}
}
