package server_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"berth/ent/schematype"
	"berth/server/servertest"
	"berth/storage/storagetest"
)

// Install and start of the test image, from installApp to runState
// running: 20 apps one after another, then 20 at once.
func BenchmarkInstall(b *testing.B) {
	requireDocker(b)
	env := servertest.Start(b, storagetest.Open(b, dialect.SQLite))
	admin := env.AddUser(b, "alice", schematype.RoleAdmin)
	const n = 20
	install := func(name string) time.Duration {
		start := time.Now()
		tk := runTask(b, admin, `mutation($in: InstallAppInput!) { installApp(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"image": imageV1, "location": name,
		}})
		if tk.State != "succeeded" {
			b.Fatalf("install %s: %+v", name, tk)
		}
		return time.Since(start)
	}
	start := time.Now()
	var one time.Duration
	for i := range n {
		d := install(fmt.Sprintf("seq%d", i))
		if i == 0 {
			one = d
		}
	}
	sequential := time.Since(start)
	start = time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { install(fmt.Sprintf("par%d", i)) })
	}
	wg.Wait()
	concurrent := time.Since(start)
	b.ReportMetric(one.Seconds(), "one-install-s")
	b.ReportMetric(sequential.Seconds(), "20-sequential-s")
	b.ReportMetric(concurrent.Seconds(), "20-concurrent-s")
	fmt.Printf("install to running: one app %.2f s; 20 apps one after another %.1f s, at once %.1f s (%.1fx, target 3x)\n",
		one.Seconds(), sequential.Seconds(), concurrent.Seconds(), sequential.Seconds()/concurrent.Seconds())
}

// execInApp with once for a name already run: no container work at all.
func BenchmarkExecOnceRepeat(b *testing.B) {
	requireDocker(b)
	env := servertest.Start(b, storagetest.Open(b, dialect.SQLite))
	admin := env.AddUser(b, "alice", schematype.RoleAdmin)
	if tk := runTask(b, admin, `mutation { installApp(input: {image: "`+imageV1+`", location: "bench"}) { id } }`, nil); tk.State != "succeeded" {
		b.Fatalf("install: %+v", tk)
	}
	var apps struct {
		Apps struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	admin.MustDo(b, `{ apps { edges { node { id } } } }`, nil, &apps)
	appID := apps.Apps.Edges[0].Node.ID
	var first struct{ ExecInApp execRunState }
	admin.MustDo(b, execOnce, map[string]any{"app": appID}, &first)
	waitExecRun(b, admin, first.ExecInApp.ID)
	var lat []time.Duration
	for range 200 {
		start := time.Now()
		admin.MustDo(b, execOnce, map[string]any{"app": appID}, nil)
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	fmt.Printf("execInApp(once) of a name already run: p50 %.2f ms, p99 %.2f ms over 200 calls (target p50 10)\n",
		ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)))
}
