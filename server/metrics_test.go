package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"berth/ent/schematype"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

// Metrics of an app and of the host (the collector also samples on its own,
// so there may be more than one sample), through GraphQL and /metrics; the
// built-in services and their restart.
func TestMetricsAndServices(t *testing.T) {
	requireDocker(t)
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		user := env.AddUser(t, "bob", schematype.RoleUser)
		ctx := context.Background()
		appID := install(t, admin, "measured")
		if err := env.Metrics.SampleOnce(ctx); err != nil {
			t.Fatal(err)
		}
		vars := map[string]any{"app": appID, "from": time.Now().Add(-time.Hour).Format(time.RFC3339), "to": time.Now().Add(time.Minute).Format(time.RFC3339)}
		const query = `query($app: ID, $from: Time!, $to: Time!) { metrics(appID: $app, from: $from, to: $to) { at memoryBytes memoryLimit } }`
		var out struct {
			Metrics []struct{ MemoryBytes, MemoryLimit int64 }
		}
		admin.MustDo(t, query, vars, &out)
		if len(out.Metrics) == 0 || out.Metrics[0].MemoryBytes <= 0 || out.Metrics[0].MemoryLimit != 256<<20 {
			t.Fatalf("app metrics: %+v", out.Metrics)
		}
		host := map[string]any{"from": vars["from"], "to": vars["to"]}
		admin.MustDo(t, query, host, &out)
		if len(out.Metrics) == 0 || out.Metrics[0].MemoryBytes <= 0 {
			t.Fatalf("host metrics: %+v", out.Metrics)
		}
		if err := user.Do(ctx, query, host, nil); !hasCode(err, "FORBIDDEN") {
			t.Fatalf("a user reading host metrics: %v", err)
		}
		if err := user.Do(ctx, query, vars, nil); !hasCode(err, "FORBIDDEN") {
			t.Fatalf("a user reading an app he does not operate: %v", err)
		}
		if err := admin.Do(ctx, query, map[string]any{"from": vars["to"], "to": vars["from"]}, nil); !hasCode(err, "BAD_USER_INPUT") {
			t.Fatalf("to before from: %v", err)
		}

		resp, err := http.Get(env.Server.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `berth_app_memory_bytes{app="`+appID+`",location="measured"}`) {
			t.Fatalf("/metrics lacks the app's memory:\n%.2000s", body)
		}

		var svcs struct {
			Services []struct {
				Name, State string
				Restarts    int
			}
		}
		admin.MustDo(t, `{ services { name state restarts } }`, nil, &svcs)
		if len(svcs.Services) != 1 || svcs.Services[0].Name != "metrics" || svcs.Services[0].State != "running" {
			t.Fatalf("services: %+v", svcs.Services)
		}
		var restarted struct {
			RestartService struct {
				State    string
				Restarts int
			}
		}
		admin.MustDo(t, `mutation { restartService(name: "metrics") { state restarts } }`, nil, &restarted)
		if restarted.RestartService.Restarts != 1 || restarted.RestartService.State != "running" {
			t.Fatalf("restart: %+v", restarted.RestartService)
		}
		if err := admin.Do(ctx, `mutation { rebuildService(name: "nothing") { state } }`, nil, nil); !hasCode(err, "BAD_USER_INPUT") {
			t.Fatalf("unknown service: %v", err)
		}
		if err := user.Do(ctx, `{ services { name } }`, nil, nil); !hasCode(err, "FORBIDDEN") {
			t.Fatalf("a user listing services: %v", err)
		}
	})
}
