package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"syscall"
	"testing"
	"time"

	"berth/ent"
	entlock "berth/ent/lock"
	enttask "berth/ent/task"
	"berth/gid"
	"berth/storage"
	"berth/storage/storagetest"
)

// graphql posts one operation with a bearer token and decodes data into out.
func graphql(t *testing.T, url, token, query string, vars map[string]any, out any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Errors != nil {
		t.Fatalf("%s: %v %v", query, err, r.Errors)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A server killed with SIGKILL in the middle of a task, then restarted,
// leaves no task running and no lock held.
func TestServerKilledMidTask(t *testing.T) {
	for _, d := range storagetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			cfg := storagetest.Config(t, d)
			if cfg.DataDir == "" {
				cfg.DataDir = t.TempDir()
			}
			s := startServe(t, cfg, "BERTH_ADMIN_PASSWORD=first-password")
			var login struct{ Login struct{ Token string } }
			graphql(t, s.url, "", `mutation { login(username: "admin", password: "first-password") { token } }`, nil, &login)
			var started struct{ StartDiagnosticTask struct{ ID gid.ID } }
			graphql(t, s.url, login.Login.Token, `mutation { startDiagnosticTask(input: {steps: 300, stepMillis: 100, lockKeys: ["app:victim"]}) { id } }`, nil, &started)
			id := started.StartDiagnosticTask.ID

			db, err := storage.Open(ctx, storage.Config{URL: cfg.URL, DataDir: cfg.DataDir, SkipMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			get := func() *ent.Task { return db.Client.Task.GetX(ctx, id) }
			held := func() bool {
				return db.Client.Lock.Query().Where(entlock.Key("app:victim"), entlock.Holder(id.String())).ExistX(ctx)
			}
			waitFor(t, "task running", func() bool { return get().State == enttask.StateRunning })
			if !held() {
				t.Fatal("running task holds no lock")
			}

			_ = s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.done
			if st := get().State; st != enttask.StateRunning || !held() {
				t.Fatalf("right after the kill: state %s, held %v; the test proves nothing", st, held())
			}

			s = startServe(t, cfg)
			defer s.stop(t)
			waitFor(t, "task reconciled", func() bool { return get().State == enttask.StateCrashed })
			if held() {
				t.Fatal("the crashed task's lock is still held")
			}
			if n := db.Client.Task.Query().Where(enttask.StateIn(enttask.StateRunning, enttask.StateWaiting)).CountX(ctx); n != 0 {
				t.Fatalf("%d tasks still running after restart", n)
			}
		})
	}
}
