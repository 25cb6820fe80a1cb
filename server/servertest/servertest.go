// Package servertest runs berth's real HTTP handler against a real database
// for tests, and talks to it as clients do: GraphQL over HTTP and websockets.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"berth/app"
	"berth/auth"
	"berth/daemon"
	"berth/docker"
	"berth/ent/schematype"
	"berth/gid"
	"berth/metrics"
	"berth/storage"
	"berth/task"
)

// Env is a running server with its database, task runner and clock.
type Env struct {
	DB     *storage.DB
	Auth   *auth.Service
	Server *httptest.Server
	Runner *task.Runner
	Clock  *Clock
	// DataDir is the server's data directory (app data lives under it).
	DataDir  string
	Docker   *docker.Client
	Instance string
	Apps     *app.Service
	Metrics  *metrics.Collector
}

// Handlers makes the handlers of the task types the servers of tests run,
// as berth does. Test binaries serve as the task subprocess: call
// task.SubprocessFromEnv(Handlers) first in TestMain.
func Handlers(dataDir string) (task.Handlers, error) {
	return daemon.Handlers(dataDir, os.Getenv("BERTH_INSTANCE"), os.Getenv("BERTH_MAIL_FQDN"),
		slog.New(slog.NewTextHandler(os.Stderr, nil)))
}

// Start serves berth's handler on a loopback port, with a task runner,
// until the test ends. The runner starts the test binary as its subprocess.
func Start(t testing.TB, db *storage.DB) *Env {
	t.Helper()
	return StartInstance(t, db, "berth-test-"+strings.ToLower(gid.New("i").String()[2:14]), "")
}

// StartInstance is Start with the Docker instance label and the data
// directory given ("" for a new one): a second server with those of a first
// one is that berth restarted.
func StartInstance(t testing.TB, db *storage.DB, instance, dataDir string) *Env {
	t.Helper()
	clock := &Clock{now: time.Now().UTC()}
	var logTo io.Writer = io.Discard
	if os.Getenv("BERTH_TEST_LOG") != "" {
		logTo = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	if dataDir == "" {
		dataDir = db.Config.DataDir
	}
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	d, err := daemon.New(daemon.Config{
		DB:          db,
		DataDir:     dataDir,
		Instance:    instance,
		Host:        "servertest",
		Exe:         os.Args[0],
		ChildEnv:    os.Environ(),
		TaskGrace:   2 * time.Second,
		TaskTick:    100 * time.Millisecond,
		MailFQDN:    os.Getenv("BERTH_MAIL_FQDN"),
		AuthOptions: []auth.Option{auth.WithClock(clock.Now), auth.WithBcryptCost(bcrypt.MinCost)},
		SPA:         http.NotFoundHandler(),
		Log:         log,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("berth: %v", err)
		}
		// Containers of this server carry its instance label: remove them.
		if cs, err := d.Engine.List(context.Background()); err == nil {
			for _, c := range cs {
				_ = d.Engine.Remove(context.Background(), c.ID)
			}
		}
		d.Close()
	})
	return &Env{DB: db, Auth: d.Auth, Server: srv, Runner: d.Runner, Clock: clock, DataDir: dataDir,
		Docker: d.Engine, Instance: instance, Apps: d.Apps, Metrics: d.Metrics}
}

// AddUser creates a user and returns a client logged in as that user.
func (e *Env) AddUser(t testing.TB, username string, role schematype.Role) *Client {
	t.Helper()
	const password = "correct horse battery"
	if _, err := e.Auth.AddUser(context.Background(), username, role, password); err != nil {
		t.Fatalf("add user %s: %v", username, err)
	}
	c := e.Anonymous()
	var out struct {
		Login struct{ Token string }
	}
	c.MustDo(t, `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }`,
		map[string]any{"u": username, "p": password}, &out)
	c.Token = out.Login.Token
	return c
}

// Anonymous returns a client without credentials.
func (e *Env) Anonymous() *Client {
	return &Client{URL: e.Server.URL + "/graphql", HTTP: e.Server.Client()}
}

// Clock is a test clock that only moves when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Client sends GraphQL requests as an integration does.
type Client struct {
	URL   string
	HTTP  *http.Client
	Token string
}

// Error is one GraphQL error of a response.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns extensions.code.
func (e Error) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Field returns extensions.field, the input field at fault.
func (e Error) Field() string { s, _ := e.Extensions["field"].(string); return s }

// Errors are the errors of a response.
type Errors []Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = fmt.Sprintf("%s (%s)", e.Message, e.Code())
	}
	return strings.Join(msgs, "; ")
}

// Codes lists the codes of the errors.
func (es Errors) Codes() []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Code()
	}
	return out
}

// Response is a raw GraphQL response with its HTTP status.
type Response struct {
	Status int
	Header http.Header
	Data   json.RawMessage `json:"data"`
	Errors Errors          `json:"errors"`
}

// Post sends one operation and returns the raw response.
func (c *Client) Post(ctx context.Context, query string, vars map[string]any) (*Response, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := &Response{Status: resp.StatusCode, Header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return nil, fmt.Errorf("decode response (HTTP %d): %w", resp.StatusCode, err)
	}
	return out, nil
}

// Do sends one operation and decodes its data into out. GraphQL errors are
// returned as Errors (data, where there is any, is still decoded).
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	resp, err := c.Post(ctx, query, vars)
	if err != nil {
		return err
	}
	if out != nil && len(resp.Data) > 0 && string(resp.Data) != "null" {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return fmt.Errorf("decode data: %w", err)
		}
	}
	if len(resp.Errors) > 0 {
		return resp.Errors
	}
	return nil
}

// MustDo is Do failing the test on any error.
func (c *Client) MustDo(t testing.TB, query string, vars map[string]any, out any) {
	t.Helper()
	if err := c.Do(context.Background(), query, vars, out); err != nil {
		t.Fatalf("%s: %v", strings.Join(strings.Fields(query), " "), err)
	}
}
