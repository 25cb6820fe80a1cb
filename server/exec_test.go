package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"berth/ent/schematype"
	"berth/gid"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

const execOnce = `mutation($app: ID!) { execInApp(appID: $app, input: {
	name: "migrate", command: "sh", args: ["-c", "echo ran in $HOSTNAME >> /data/once.txt; echo done"], once: true
}) { id state } }`

type execRunState struct {
	ID       string
	State    string
	ExitCode *int
	Stdout   string
}

func waitExecRun(t testing.TB, c *servertest.Client, id string) execRunState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out struct{ Node execRunState }
		c.MustDo(t, `query($id: ID!) { node(id: $id) { ... on ExecRun { id state exitCode stdout } } }`, map[string]any{"id": id}, &out)
		if out.Node.State != "starting" {
			return out.Node
		}
		if time.Now().After(deadline) {
			t.Fatalf("exec run %s still starting", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// execConcurrently runs the once-command n times at once and returns the
// exec run IDs the callers got.
func execConcurrently(t *testing.T, c *servertest.Client, appID string, n int) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var out struct{ ExecInApp execRunState }
			if err := c.Do(context.Background(), execOnce, map[string]any{"app": appID}, &out); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[out.ExecInApp.ID] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	return ids
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// Fifty concurrent once-execs run the command exactly once; after a restart
// of berth it is not run again; a recreated container runs it once more.
func TestExecOnce(t *testing.T) {
	requireDocker(t)
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		appID := install(t, admin, "db")
		file := filepath.Join(env.DataDir, "apps", appID, "data", "once.txt")

		ids := execConcurrently(t, admin, appID, 50)
		if len(ids) != 1 {
			t.Fatalf("50 requests got %d different runs, want 1", len(ids))
		}
		var first string
		for id := range ids {
			first = id
		}
		run := waitExecRun(t, admin, first)
		if run.State != "finished" || run.ExitCode == nil || *run.ExitCode != 0 || run.Stdout != "done\n" {
			t.Fatalf("run: %+v", run)
		}
		if n := lines(t, file); n != 1 {
			t.Fatalf("the command ran %d times, want once", n)
		}

		// berth restarted: a new server on the same database and engine.
		restarted := servertest.StartInstance(t, db, env.Instance, env.DataDir)
		admin2 := restarted.AddUser(t, "bob", schematype.RoleAdmin)
		if ids := execConcurrently(t, admin2, appID, 10); len(ids) != 1 || !ids[first] {
			t.Fatalf("after restart: runs %v, want the stored %s", ids, first)
		}
		if n := lines(t, file); n != 1 {
			t.Fatalf("after restart the command ran again (%d lines)", n)
		}

		// A new container instance runs it once more.
		if tk := runTask(t, admin2, `mutation($id: ID!) { updateApp(id: $id, input: {image: "`+imageV2+`"}) { id } }`, map[string]any{"id": appID}); tk.State != "succeeded" {
			t.Fatalf("update: %+v", tk)
		}
		ids = execConcurrently(t, admin2, appID, 10)
		if len(ids) != 1 || ids[first] {
			t.Fatalf("after recreate: runs %v, want one new run", ids)
		}
		for id := range ids {
			if run := waitExecRun(t, admin2, id); run.State != "finished" {
				t.Fatalf("run after recreate: %+v", run)
			}
		}
		if n := lines(t, file); n != 2 {
			t.Fatalf("after recreate: %d lines, want 2", n)
		}
	})
}

// The engine unreachable: app operations fail with DOCKER_UNAVAILABLE and
// the rest of berth works.
func TestDockerUnavailable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		start := time.Now()
		err := admin.Do(context.Background(), `mutation { installApp(input: {image: "`+imageV1+`", location: "x"}) { id } }`, nil, nil)
		if !hasCode(err, "DOCKER_UNAVAILABLE") {
			t.Fatalf("install without engine: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v to notice", d)
		}
		admin.MustDo(t, `{ me { username } apps { totalCount } }`, nil, nil)
	})
}

// appLog streams the container's output.
func TestAppLog(t *testing.T) {
	requireDocker(t)
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		user := env.AddUser(t, "bob", schematype.RoleUser)
		if tk := runTask(t, admin, `mutation { installApp(input: {image: "`+imageV1+`", location: "talker"}) { id } }`, nil); tk.State != "succeeded" {
			t.Fatalf("install: %+v", tk)
		}
		var apps struct {
			Apps struct {
				Edges []struct {
					Node struct{ ID, ContainerID string }
				}
			}
		}
		admin.MustDo(t, `{ apps { edges { node { id containerID } } } }`, nil, &apps)
		a := apps.Apps.Edges[0].Node
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		denied, err := user.Subscribe(ctx, `subscription($id: ID!) { appLog(id: $id) }`, map[string]any{"id": a.ID})
		if err != nil {
			t.Fatal(err)
		}
		defer denied.Close()
		var line struct{ AppLog string }
		if denied.Next(ctx, &line) || !hasCode(denied.Err, "FORBIDDEN") {
			t.Fatalf("a user who does not operate the app read its log: %q %v", line.AppLog, denied.Err)
		}
		sub, err := admin.Subscribe(ctx, `subscription($id: ID!) { appLog(id: $id, tail: 0) }`, map[string]any{"id": a.ID})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		// Write to the container's main process output from inside.
		go func() {
			time.Sleep(300 * time.Millisecond)
			_ = exec.Command("docker", "exec", a.ContainerID, "sh", "-c", "echo hello from the app > /proc/1/fd/1").Run()
		}()
		if !sub.Next(ctx, &line) || line.AppLog != "hello from the app" {
			t.Fatalf("appLog = %q, %v", line.AppLog, sub.Err)
		}
	})
}

// A once-command whose task dies mid-run is lost: it is not run again by
// itself, and force runs it anew.
func TestExecLostAndForce(t *testing.T) {
	requireDocker(t)
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		appID := install(t, admin, "slow")
		const slow = `mutation($app: ID!, $force: Boolean) { execInApp(appID: $app, input: {
			name: "seed", command: "sh", args: ["-c", "echo started >> /data/seed.txt; sleep 30"], once: true, force: $force
		}) { id state task { id } } }`
		var first struct {
			ExecInApp struct {
				ID   string
				Task struct{ ID string }
			}
		}
		admin.MustDo(t, slow, map[string]any{"app": appID}, &first)
		file := filepath.Join(env.DataDir, "apps", appID, "data", "seed.txt")
		deadline := time.Now().Add(20 * time.Second)
		for {
			if b, _ := os.ReadFile(file); len(b) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the command did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The task's subprocess dies while the command runs.
		tk := db.Client.Task.GetX(context.Background(), gid.ID(first.ExecInApp.Task.ID))
		if err := syscall.Kill(*tk.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if run := waitExecRun(t, admin, first.ExecInApp.ID); run.State != "lost" {
			t.Fatalf("run after its task died: %+v", run)
		}
		var again struct{ ExecInApp struct{ ID, State string } }
		admin.MustDo(t, slow, map[string]any{"app": appID}, &again)
		if again.ExecInApp.ID != first.ExecInApp.ID || again.ExecInApp.State != "lost" {
			t.Fatalf("asking again: %+v, want the lost run back", again.ExecInApp)
		}
		var forced struct{ ExecInApp struct{ ID string } }
		admin.MustDo(t, slow, map[string]any{"app": appID, "force": true}, &forced)
		if forced.ExecInApp.ID == first.ExecInApp.ID {
			t.Fatal("force did not start a new run")
		}
		deadline = time.Now().Add(20 * time.Second)
		for lines(t, file) != 2 {
			if time.Now().After(deadline) {
				t.Fatalf("forced run: %d lines, want 2", lines(t, file))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
