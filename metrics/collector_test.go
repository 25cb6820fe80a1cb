package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"berth/docker"
	"berth/ent"
	"berth/ent/metricsample"
	"berth/fault"
	"berth/gid"
	"berth/storage"
	"berth/storage/storagetest"
)

// fakeEngine serves fixed containers and stats; a container with an entry
// in errs fails.
type fakeEngine struct {
	listErr error
	ctrs    []docker.Container
	stats   map[string]docker.Stats
	errs    map[string]error

	mu    sync.Mutex
	calls int
}

func (e *fakeEngine) List(context.Context) ([]docker.Container, error) {
	return e.ctrs, e.listErr
}

func (e *fakeEngine) Stats(_ context.Context, id string) (*docker.Stats, error) {
	e.mu.Lock()
	e.calls++
	e.mu.Unlock()
	if err := e.errs[id]; err != nil {
		return nil, err
	}
	s, ok := e.stats[id]
	if !ok {
		return nil, fmt.Errorf("stats of %s: %w", id, docker.ErrNotFound)
	}
	return &s, nil
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newApp(t *testing.T, client *ent.Client, location string) *ent.App {
	t.Helper()
	a, err := client.App.Create().SetLocation(location).SetImage("berth-test/busybox:1").Save(t.Context())
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	return a
}

// hostProc writes a fake /proc whose CPU line is cpu and returns its root.
func hostProc(t *testing.T, cpu string) string {
	t.Helper()
	root := t.TempDir()
	writeProc(t, root, fakeProc{cpu: cpu, memTotal: 8000, memAvail: 2000, netDev: testNetDev, diskstats: testDiskstats})
	return root
}

func newCollector(t *testing.T, db *storage.DB, engine Engine, procRoot string, now func() time.Time) *Collector {
	t.Helper()
	c, err := New(Config{Client: db.Client, Engine: engine, ProcRoot: procRoot, Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// samples returns the stored samples keyed by app ID ("" for the host),
// each key's oldest first.
func samples(t *testing.T, client *ent.Client) map[string][]*ent.MetricSample {
	t.Helper()
	all, err := client.MetricSample.Query().Order(metricsample.ByAt()).All(t.Context())
	if err != nil {
		t.Fatalf("query samples: %v", err)
	}
	out := map[string][]*ent.MetricSample{}
	for _, s := range all {
		var key string
		if s.AppID != nil {
			key = *s.AppID
		}
		out[key] = append(out[key], s)
	}
	return out
}

func TestSampleOnceHostCPUDelta(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		root := hostProc(t, "100 0 100 800 0 0 0 0 0 0") // 200 busy of 1000
		c := newCollector(t, db, &fakeEngine{}, root, nil)
		if err := c.SampleOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		// 600 more busy ticks of 800 since: 75%, not the 40% since boot.
		writeProc(t, root, fakeProc{cpu: "500 0 300 1000 0 0 0 0 0 0", memTotal: 8000, memAvail: 2000, netDev: testNetDev, diskstats: testDiskstats})
		if err := c.SampleOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		host := samples(t, db.Client)[""]
		if len(host) != 2 {
			t.Fatalf("%d host samples, want 2", len(host))
		}
		if got := []float64{host[0].CPUPercent, host[1].CPUPercent}; got[0] != 20 || got[1] != 75 {
			t.Errorf("host CPU percent = %v, want [20 75]", got)
		}
		h := host[1]
		if h.MemoryBytes != 6000*1024 || h.MemoryLimit != 8000*1024 || h.NetRx != 1300 || h.NetTx != 2400 ||
			h.BlockRead != 110*512 || h.BlockWrite != 220*512 {
			t.Errorf("host sample = %+v", h)
		}
	})
}

func TestSampleOnceApps(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		a := newApp(t, db.Client, "a")
		b := newApp(t, db.Client, "b")
		broken := newApp(t, db.Client, "broken")
		stopped := newApp(t, db.Client, "stopped")
		engine := &fakeEngine{
			ctrs: []docker.Container{
				{ID: "ca", AppID: string(a.ID), Running: true},
				{ID: "cb", AppID: string(b.ID), Running: true},
				{ID: "cbroken", AppID: string(broken.ID), Running: true},
				{ID: "cstopped", AppID: string(stopped.ID)},
				{ID: "corphan", AppID: "app_gone", Running: true},
			},
			stats: map[string]docker.Stats{
				"ca":       {CPUPercent: 12.5, MemoryBytes: 100, MemoryLimit: 1000, NetRxBytes: 1, NetTxBytes: 2, BlockReadBytes: 3, BlockWriteBytes: 4},
				"cb":       {CPUPercent: 1, MemoryBytes: 200, MemoryLimit: 2000},
				"cstopped": {},
				"corphan":  {MemoryBytes: 1},
			},
			errs: map[string]error{"cbroken": errors.New("engine hiccup")},
		}
		c := newCollector(t, db, engine, hostProc(t, "1 0 0 1 0 0 0 0 0 0"), nil)
		if err := c.SampleOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		got := samples(t, db.Client)
		want := map[string]int{"": 1, string(a.ID): 1, string(b.ID): 1}
		if len(got) != len(want) {
			t.Errorf("samples for %d subjects, want %d (host, a, b): %v", len(got), len(want), keys(got))
		}
		for k, n := range want {
			if len(got[k]) != n {
				t.Errorf("%q: %d samples, want %d", k, len(got[k]), n)
			}
		}
		if s := got[string(a.ID)]; len(s) == 1 {
			if s[0].CPUPercent != 12.5 || s[0].MemoryBytes != 100 || s[0].MemoryLimit != 1000 ||
				s[0].NetRx != 1 || s[0].NetTx != 2 || s[0].BlockRead != 3 || s[0].BlockWrite != 4 {
				t.Errorf("app a sample = %+v", s[0])
			}
		}
		if s := got[string(b.ID)]; len(s) == 1 && s[0].At.IsZero() {
			t.Error("app b sample has no time")
		}
	})
}

func TestSampleOnceEngineDown(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		newApp(t, db.Client, "a")
		engine := &fakeEngine{listErr: fmt.Errorf("list: %w", docker.ErrUnavailable)}
		c := newCollector(t, db, engine, hostProc(t, "1 0 0 1 0 0 0 0 0 0"), nil)
		if err := c.SampleOnce(t.Context()); err != nil {
			t.Fatalf("SampleOnce with the engine down: %v; want the host sampled and no error", err)
		}
		if got := samples(t, db.Client); len(got) != 1 || len(got[""]) != 1 {
			t.Errorf("samples = %v, want one host sample", keys(got))
		}
	})
}

func TestSampleOnceNoProc(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		c := newCollector(t, db, &fakeEngine{}, t.TempDir(), nil)
		if err := c.SampleOnce(t.Context()); err == nil {
			t.Error("SampleOnce without /proc succeeded; want an error")
		}
	})
}

func TestRetentionAndDeletedApps(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		keep := newApp(t, db.Client, "keep")
		gone := newApp(t, db.Client, "gone")
		engine := &fakeEngine{
			ctrs: []docker.Container{
				{ID: "ck", AppID: string(keep.ID), Running: true},
				{ID: "cg", AppID: string(gone.ID), Running: true},
			},
			stats: map[string]docker.Stats{"ck": {MemoryBytes: 1}, "cg": {MemoryBytes: 2}},
		}
		clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		// Samples of an app deleted while berth was down.
		if err := db.Client.MetricSample.Create().SetAppID("app_deletedwhiledown").SetAt(clk.Now()).
			SetCPUPercent(0).SetMemoryBytes(0).SetMemoryLimit(0).SetNetRx(0).SetNetTx(0).SetBlockRead(0).SetBlockWrite(0).
			Exec(ctx); err != nil {
			t.Fatal(err)
		}
		c, err := New(Config{Client: db.Client, Engine: engine, ProcRoot: hostProc(t, "1 0 0 1 0 0 0 0 0 0"),
			Now: clk.Now, Retention: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		sample := func() {
			t.Helper()
			if err := c.SampleOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sample() // t0
		if _, ok := samples(t, db.Client)["app_deletedwhiledown"]; ok {
			t.Error("the first sample kept the samples of an app that no longer exists")
		}
		clk.Add(23 * time.Hour)
		sample() // t0+23h

		// The app is uninstalled; its container lingers a moment.
		if err := db.Client.App.DeleteOne(gone).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Add(2 * time.Hour)
		sample() // t0+25h: the t0 samples are past the 24 h retention

		got := samples(t, db.Client)
		if _, ok := got[string(gone.ID)]; ok {
			t.Errorf("samples of the deleted app remain: %d", len(got[string(gone.ID)]))
		}
		for _, k := range []string{"", string(keep.ID)} {
			var at []time.Time
			for _, s := range got[k] {
				at = append(at, s.At.UTC())
			}
			want := []time.Time{clk.Now().Add(-2 * time.Hour), clk.Now()}
			if len(at) != 2 || !at[0].Equal(want[0]) || !at[1].Equal(want[1]) {
				t.Errorf("%q samples at %v, want %v", k, at, want)
			}
		}
	})
}

func TestQueryValidation(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		c := newCollector(t, db, &fakeEngine{}, "", nil)
		t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			name      string
			from, to  time.Time
			wantField string // "" for no error
		}{
			{"ok", t0, t0.Add(time.Hour), ""},
			{"empty range", t0, t0, ""},
			{"exactly 31 days", t0, t0.Add(MaxRange), ""},
			{"to before from", t0, t0.Add(-time.Second), "to"},
			{"over 31 days", t0, t0.Add(MaxRange + time.Second), "from"},
			{"no from", time.Time{}, t0, "from"},
			{"no to", t0, time.Time{}, "to"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := c.Query(t.Context(), nil, tt.from, tt.to)
				if tt.wantField == "" {
					if err != nil {
						t.Fatalf("Query: %v", err)
					}
					return
				}
				f, ok := fault.As(err)
				if !ok || !errors.Is(err, fault.ErrBadInput) || f.Field != tt.wantField {
					t.Errorf("Query error = %v, want bad input in %q", err, tt.wantField)
				}
			})
		}
	})
}

func TestQuery(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		a := newApp(t, db.Client, "a")
		t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		// 10 samples for the app, 10 for the host, a minute apart, stored
		// out of order; memory_bytes is the minute.
		var builders []*ent.MetricSampleCreate
		for _, i := range []int{7, 3, 9, 0, 5, 1, 8, 2, 6, 4} {
			for _, appID := range []*string{nil, (*string)(&a.ID)} {
				mem := int64(i)
				if appID == nil {
					mem += 100
				}
				builders = append(builders, db.Client.MetricSample.Create().SetNillableAppID(appID).
					SetAt(t0.Add(time.Duration(i)*time.Minute)).SetCPUPercent(0).SetMemoryBytes(mem).SetMemoryLimit(0).
					SetNetRx(0).SetNetTx(0).SetBlockRead(0).SetBlockWrite(0))
			}
		}
		if err := db.Client.MetricSample.CreateBulk(builders...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		appID := a.ID
		tests := []struct {
			name      string
			app       *gid.ID
			from, to  time.Time
			maxPoints int
			want      []int64
		}{
			{"app, inclusive bounds", &appID, t0.Add(2 * time.Minute), t0.Add(5 * time.Minute), 100, []int64{2, 3, 4, 5}},
			{"host", nil, t0.Add(8 * time.Minute), t0.Add(time.Hour), 100, []int64{108, 109}},
			{"other time zone", nil, t0.Add(8 * time.Minute).In(time.FixedZone("X", 5*3600)), t0.Add(8 * time.Minute), 100, []int64{108}},
			{"unknown app", ptr(gid.ID("app_nope")), t0, t0.Add(time.Hour), 100, nil},
			{"thinned to every 3rd", &appID, t0, t0.Add(time.Hour), 4, []int64{0, 3, 6, 9}},
			{"thinned to every 2nd", &appID, t0.Add(time.Minute), t0.Add(9 * time.Minute), 5, []int64{1, 3, 5, 7, 9}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := query(t.Context(), db.Client, tt.app, tt.from, tt.to, tt.maxPoints)
				if err != nil {
					t.Fatal(err)
				}
				var mem []int64
				for _, s := range got {
					mem = append(mem, s.MemoryBytes)
				}
				if fmt.Sprint(mem) != fmt.Sprint(tt.want) {
					t.Errorf("memory of the samples = %v, want %v", mem, tt.want)
				}
			})
		}
	})
}

func TestPrometheus(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		a := newApp(t, db.Client, "wiki")
		engine := &fakeEngine{
			ctrs:  []docker.Container{{ID: "ca", AppID: string(a.ID), Running: true}},
			stats: map[string]docker.Stats{"ca": {CPUPercent: 12.5, MemoryBytes: 100, MemoryLimit: 1000, NetRxBytes: 1, NetTxBytes: 2, BlockReadBytes: 3, BlockWriteBytes: 4}},
		}
		c := newCollector(t, db, engine, hostProc(t, "100 0 100 800 0 0 0 0 0 0"), nil)
		if n := testutil.CollectAndCount(c); n != 0 {
			t.Errorf("%d metrics before the first sample, want 0", n)
		}
		if err := c.SampleOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		labels := fmt.Sprintf(`{app="%s",location="wiki"}`, a.ID)
		want := strings.NewReplacer("LABELS", labels).Replace(`
# HELP berth_app_cpu_percent CPU use in percent of the whole machine of the app's container at the latest sample.
# TYPE berth_app_cpu_percent gauge
berth_app_cpu_percent LABELS 12.5
# HELP berth_app_memory_bytes Memory in use in bytes, without reclaimable cache of the app's container at the latest sample.
# TYPE berth_app_memory_bytes gauge
berth_app_memory_bytes LABELS 100
# HELP berth_app_network_receive_bytes_total Bytes received of the app's container at the latest sample.
# TYPE berth_app_network_receive_bytes_total counter
berth_app_network_receive_bytes_total LABELS 1
# HELP berth_app_block_write_bytes_total Bytes written to block devices of the app's container at the latest sample.
# TYPE berth_app_block_write_bytes_total counter
berth_app_block_write_bytes_total LABELS 4
# HELP berth_host_cpu_percent CPU use in percent of the whole machine of the host at the latest sample.
# TYPE berth_host_cpu_percent gauge
berth_host_cpu_percent 20
# HELP berth_host_memory_used_bytes Memory in use in bytes, without reclaimable cache of the host at the latest sample.
# TYPE berth_host_memory_used_bytes gauge
berth_host_memory_used_bytes 6.144e+06
# HELP berth_host_memory_total_bytes Memory limit in bytes of the host at the latest sample.
# TYPE berth_host_memory_total_bytes gauge
berth_host_memory_total_bytes 8.192e+06
# HELP berth_host_network_transmit_bytes_total Bytes sent of the host at the latest sample.
# TYPE berth_host_network_transmit_bytes_total counter
berth_host_network_transmit_bytes_total 2400
`)
		err := testutil.CollectAndCompare(c, strings.NewReader(want),
			"berth_app_cpu_percent", "berth_app_memory_bytes", "berth_app_network_receive_bytes_total",
			"berth_app_block_write_bytes_total", "berth_host_cpu_percent", "berth_host_memory_used_bytes",
			"berth_host_memory_total_bytes", "berth_host_network_transmit_bytes_total")
		if err != nil {
			t.Error(err)
		}
		// Every metric passes the registry's consistency checks.
		if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
			t.Errorf("lint: %v %v", problems, err)
		}
		if n := testutil.CollectAndCount(c); n != 14 {
			t.Errorf("%d metrics, want 14 (7 for the app, 7 for the host)", n)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRun(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		c, err := New(Config{Client: db.Client, Engine: &fakeEngine{}, ProcRoot: hostProc(t, "1 0 0 1 0 0 0 0 0 0"),
			Interval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		deadline := time.Now().Add(10 * time.Second)
		for len(samples(t, db.Client)[""]) < 3 {
			if time.Now().After(deadline) {
				t.Fatal("Run stored fewer than 3 host samples in 10 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil once its context ends", err)
		}
	})
}
