package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"berth/ent/schematype"
	"berth/server/servertest"
	"berth/storage/storagetest"
)

// Figures for `make bench`: reported as metrics, never asserted.

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// From startDiagnosticTask returning to the first progress event at a
// websocket subscriber (tasksChanged, subscribed beforehand), on SQLite.
func BenchmarkDispatchLatency(b *testing.B) {
	env := servertest.Start(b, storagetest.Open(b, dialect.SQLite))
	admin := env.AddUser(b, "alice", schematype.RoleAdmin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sub, err := admin.Subscribe(ctx, `subscription { tasksChanged { id state percent } }`, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	type event struct {
		id      string
		percent int
		at      time.Time
	}
	events := make(chan event, 1024)
	go func() {
		for {
			var ev struct{ TasksChanged taskState }
			if !sub.Next(ctx, &ev) {
				close(events)
				return
			}
			events <- event{ev.TasksChanged.ID, ev.TasksChanged.Percent, time.Now()}
		}
	}()
	const rounds = 50
	var lat []time.Duration
	for range rounds {
		var out struct{ StartDiagnosticTask taskState }
		admin.MustDo(b, startDiagnostic, map[string]any{"in": map[string]any{"steps": 1, "stepMillis": 0}}, &out)
		returned := time.Now()
		for ev := range events {
			if ev.id == out.StartDiagnosticTask.ID && ev.percent > 0 {
				lat = append(lat, ev.at.Sub(returned))
				break
			}
		}
	}
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	fmt.Printf("dispatch latency (sqlite, %d tasks): p50 %.1f ms, p99 %.1f ms (targets 30 / 100)\n",
		rounds, ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)))
}

// 500 subscribers to one task: from a progress report (the task's
// updated_at) to the last subscriber receiving it.
func BenchmarkFanout(b *testing.B) {
	env := servertest.Start(b, storagetest.Open(b, dialect.SQLite))
	admin := env.AddUser(b, "alice", schematype.RoleAdmin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const subscribers, steps = 500, 20
	var started struct{ StartDiagnosticTask taskState }
	admin.MustDo(b, startDiagnostic, map[string]any{"in": map[string]any{"steps": steps, "stepMillis": 300}}, &started)
	id := started.StartDiagnosticTask.ID

	var mu sync.Mutex
	last := map[int]time.Time{}     // percent -> when the last subscriber got it
	reported := map[int]time.Time{} // percent -> updatedAt
	var wg sync.WaitGroup
	for range subscribers {
		sub, err := admin.Subscribe(ctx, `subscription($id: ID!) { taskUpdated(id: $id) { percent updatedAt } }`, map[string]any{"id": id})
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer sub.Close()
			for {
				var ev struct {
					TaskUpdated struct {
						Percent   int
						UpdatedAt time.Time
					}
				}
				if !sub.Next(ctx, &ev) {
					return
				}
				now := time.Now()
				mu.Lock()
				p := ev.TaskUpdated.Percent
				if now.After(last[p]) {
					last[p] = now
				}
				reported[p] = ev.TaskUpdated.UpdatedAt
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var lat []time.Duration
	for p, at := range last {
		if p > 0 && p < 100 {
			lat = append(lat, at.Sub(reported[p]))
		}
	}
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	fmt.Printf("fan-out to %d subscribers (%d progress steps): last receiver p50 %.1f ms, p99 %.1f ms (target p99 100)\n",
		subscribers, len(lat), ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)))
}

// 40 one-second diagnostic tasks on 40 app keys: total time (versus 40 s
// under one global lock).
func BenchmarkParallelTasks(b *testing.B) {
	for _, d := range storagetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := servertest.Start(b, storagetest.Open(b, d))
			admin := env.AddUser(b, "alice", schematype.RoleAdmin)
			const n = 40
			start := time.Now()
			ids := make([]string, n)
			for i := range n {
				var out struct{ StartDiagnosticTask taskState }
				admin.MustDo(b, startDiagnostic, map[string]any{"in": map[string]any{
					"steps": 10, "stepMillis": 100, "lockKeys": []string{fmt.Sprintf("app:bench%d", i)},
				}}, &out)
				ids[i] = out.StartDiagnosticTask.ID
			}
			for _, id := range ids {
				if s := waitTask(b, admin, id, func(s taskState) bool { return s.State != "pending" && s.State != "waiting" && s.State != "running" }); s.State != "succeeded" {
					b.Fatalf("task %s: %+v", id, s)
				}
			}
			total := time.Since(start)
			b.ReportMetric(total.Seconds(), "total-s")
			fmt.Printf("40 one-second tasks on 40 apps (%s): %.2f s in total (target < 3 s)\n", d, total.Seconds())
		})
	}
}
