package server_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	entcommand "berth/ent/command"
	"berth/ent/schematype"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

const startDiagnostic = `mutation($in: DiagnosticTaskInput!) { startDiagnosticTask(input: $in) { id state } }`

type taskState struct {
	ID      string
	State   string
	Percent int
	Message string
	Error   *struct{ Code, Message string }
}

// A subscriber sees every progress step of a diagnostic task, in order,
// and the final state; the log follows line by line.
func TestTaskSubscriptions(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		var started struct{ StartDiagnosticTask taskState }
		admin.MustDo(t, startDiagnostic, map[string]any{"in": map[string]any{"steps": 5, "stepMillis": 150, "lockKeys": []string{"app:x"}}}, &started)
		id := started.StartDiagnosticTask.ID

		updates, err := admin.Subscribe(ctx, `subscription($id: ID!) { taskUpdated(id: $id) { id state percent message error { code } } }`, map[string]any{"id": id})
		if err != nil {
			t.Fatal(err)
		}
		defer updates.Close()
		logs, err := admin.Subscribe(ctx, `subscription($id: ID!) { taskLog(id: $id) { line text } }`, map[string]any{"id": id})
		if err != nil {
			t.Fatal(err)
		}
		defer logs.Close()

		var percents []int
		var last taskState
		for {
			var ev struct{ TaskUpdated taskState }
			if !updates.Next(ctx, &ev) {
				break
			}
			last = ev.TaskUpdated
			if p := last.Percent; len(percents) == 0 || percents[len(percents)-1] != p {
				percents = append(percents, p)
			}
		}
		if updates.Err != nil {
			t.Fatalf("taskUpdated: %v", updates.Err)
		}
		if last.State != "succeeded" {
			t.Fatalf("final state %s", last.State)
		}
		want := []int{0, 20, 40, 60, 80, 100}
		if !slices.Equal(percents, want) {
			t.Fatalf("progress seen %v, want every step %v", percents, want)
		}

		var lines []int
		for {
			var ev struct{ TaskLog struct{ Line int } }
			if !logs.Next(ctx, &ev) {
				break
			}
			lines = append(lines, ev.TaskLog.Line)
		}
		if logs.Err != nil || len(lines) < 5 {
			t.Fatalf("taskLog: %v lines %v", logs.Err, lines)
		}
		for i, n := range lines {
			if n != i+1 {
				t.Fatalf("log lines %v, want 1..n in order", lines)
			}
		}

		// From a line on: only what follows it.
		rest, err := admin.Subscribe(ctx, `subscription($id: ID!) { taskLog(id: $id, fromLine: 3) { line } }`, map[string]any{"id": id})
		if err != nil {
			t.Fatal(err)
		}
		defer rest.Close()
		var ev struct{ TaskLog struct{ Line int } }
		if !rest.Next(ctx, &ev) || ev.TaskLog.Line != 4 {
			t.Fatalf("taskLog from line 3 starts at %d (%v)", ev.TaskLog.Line, rest.Err)
		}
	})
}

// Fifty concurrent cancelTask calls abort the task once and leave fifty
// consumed commands.
func TestCancelTask(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		ctx := context.Background()
		var started struct{ StartDiagnosticTask taskState }
		admin.MustDo(t, startDiagnostic, map[string]any{"in": map[string]any{"steps": 100, "stepMillis": 100}}, &started)
		id := started.StartDiagnosticTask.ID
		waitTask(t, admin, id, func(s taskState) bool { return s.State == "running" })

		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				var out struct {
					CancelTask struct{ Command, Target string }
				}
				if err := admin.Do(ctx, `mutation($id: ID!) { cancelTask(id: $id) { command target } }`, map[string]any{"id": id}, &out); err != nil {
					t.Error(err)
				} else if out.CancelTask.Command != "abort" || out.CancelTask.Target != id {
					t.Errorf("cancelTask = %+v", out.CancelTask)
				}
			})
		}
		wg.Wait()
		final := waitTask(t, admin, id, func(s taskState) bool { return s.State == "cancelled" })
		if final.Error == nil || final.Error.Code != "CANCELLED" {
			t.Fatalf("cancelled task error = %+v", final.Error)
		}
		deadline := time.Now().Add(10 * time.Second)
		for db.Client.Command.Query().Where(entcommand.IsConsumed(true)).CountX(ctx) != 50 {
			if time.Now().After(deadline) {
				t.Fatalf("commands consumed: %d of 50", db.Client.Command.Query().Where(entcommand.IsConsumed(true)).CountX(ctx))
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Cancelling a finished task is harmless.
		admin.MustDo(t, `mutation($id: ID!) { cancelTask(id: $id) { id } }`, map[string]any{"id": id}, nil)
	})
}

func TestTaskInputAndRoles(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		user := env.AddUser(t, "bob", schematype.RoleUser)
		ctx := context.Background()
		bad := []struct {
			name  string
			in    map[string]any
			field string
		}{
			{"no steps", map[string]any{"steps": 0}, "steps"},
			{"negative step time", map[string]any{"stepMillis": -1}, "stepMillis"},
			{"blank lock key", map[string]any{"lockKeys": []string{" app:1"}}, "lockKeys"},
			{"zero timeout", map[string]any{"timeoutSeconds": 0}, "timeoutSeconds"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				err := admin.Do(ctx, startDiagnostic, map[string]any{"in": tt.in}, nil)
				errs, ok := err.(servertest.Errors)
				if !ok || errs[0].Code() != "BAD_USER_INPUT" || errs[0].Field() != tt.field {
					t.Fatalf("error = %v, want BAD_USER_INPUT on %s", err, tt.field)
				}
			})
		}
		if n := db.Client.Task.Query().CountX(ctx); n != 0 {
			t.Fatalf("bad input left %d tasks", n)
		}
		if err := user.Do(ctx, startDiagnostic, map[string]any{"in": map[string]any{}}, nil); !hasCode(err, "FORBIDDEN") {
			t.Fatalf("user starting a diagnostic: %v", err)
		}
		var started struct{ StartDiagnosticTask taskState }
		admin.MustDo(t, startDiagnostic, map[string]any{"in": map[string]any{"steps": 1, "stepMillis": 1}}, &started)
		err := user.Do(ctx, `mutation($id: ID!) { cancelTask(id: $id) { id } }`, map[string]any{"id": started.StartDiagnosticTask.ID}, nil)
		if !hasCode(err, "FORBIDDEN") {
			t.Fatalf("user cancelling an admin's task: %v", err)
		}
	})
}

func waitTask(t testing.TB, c *servertest.Client, id string, cond func(taskState) bool) taskState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out struct{ Task taskState }
		c.MustDo(t, `query($id: ID!) { task(id: $id) { id state percent message error { code message } } }`, map[string]any{"id": id}, &out)
		if cond(out.Task) {
			return out.Task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: %+v", id, out.Task)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
