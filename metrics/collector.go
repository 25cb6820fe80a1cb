// Package metrics is berth's own resource collector: every Interval it
// samples each app's container through the Docker engine and the host
// through /proc, stores the samples (MetricSample), drops those past the
// retention, and serves the latest ones to Prometheus.
//
// berth collects itself rather than through a collectd plugin so that what
// is measured, and how, is in berth's hands.
package metrics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"berth/docker"
	"berth/ent"
	"berth/ent/app"
	"berth/ent/metricsample"
)

// Defaults of Config.
const (
	DefaultInterval  = 10 * time.Second
	DefaultRetention = 7 * 24 * time.Hour
	DefaultProcRoot  = "/proc"
)

// maxConcurrentStats bounds the engine calls in flight: each takes about a
// second and a half, so they run together, but a host with many apps
// should not open a connection per app at once.
const maxConcurrentStats = 8

// Engine is what the collector needs of docker.Client.
type Engine interface {
	List(ctx context.Context) ([]docker.Container, error)
	Stats(ctx context.Context, id string) (*docker.Stats, error)
}

// Config configures a Collector. Client and Engine are required.
type Config struct {
	Client    *ent.Client
	Engine    Engine
	Interval  time.Duration    // between samples; DefaultInterval if zero
	Retention time.Duration    // how long samples are kept; DefaultRetention if zero
	Now       func() time.Time // time.Now if nil
	ProcRoot  string           // DefaultProcRoot if empty
	Log       *slog.Logger     // discarded if nil
}

// Collector samples, stores and exposes resource use. Its methods are safe
// for concurrent use; SampleOnce calls are serialised.
type Collector struct {
	client    *ent.Client
	engine    Engine
	interval  time.Duration
	retention time.Duration
	now       func() time.Time
	procRoot  string
	log       *slog.Logger

	// sampling serialises SampleOnce: the CPU delta and the sweep of
	// deleted apps need one sample after the other.
	sampling sync.Mutex
	prevCPU  cpuTimes
	apps     map[string]bool // app IDs seen at the previous sample; nil before the first

	appSeries, hostSeries []series // what Prometheus is shown

	mu     sync.Mutex // guards latest
	latest []latestSample
}

// latestSample is what Prometheus is shown: the newest sample of an app
// (with its location, for people reading dashboards) or of the host.
type latestSample struct {
	sample   *ent.MetricSample
	location string
}

// New returns a Collector; it does nothing until Run or SampleOnce.
func New(cfg Config) (*Collector, error) {
	if cfg.Client == nil || cfg.Engine == nil {
		return nil, errors.New("metrics: new collector: Client and Engine are required")
	}
	if cfg.Interval < 0 || cfg.Retention < 0 {
		return nil, errors.New("metrics: new collector: negative Interval or Retention")
	}
	c := &Collector{
		client:     cfg.Client,
		engine:     cfg.Engine,
		interval:   cmp.Or(cfg.Interval, DefaultInterval),
		retention:  cmp.Or(cfg.Retention, DefaultRetention),
		now:        cfg.Now,
		procRoot:   cmp.Or(cfg.ProcRoot, DefaultProcRoot),
		log:        cfg.Log,
		appSeries:  newSeries(false),
		hostSeries: newSeries(true),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "metrics")
	return c, nil
}

// Run samples every Interval until ctx ends. A failed sample is logged and
// the next one tried: metrics must never take berth down.
func (c *Collector) Run(ctx context.Context) error {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		// Each round gets at most one interval, so that a hung engine
		// does not pile rounds up.
		sctx, cancel := context.WithTimeout(ctx, c.interval)
		err := c.SampleOnce(sctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.log.ErrorContext(ctx, "sample failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SampleOnce takes one sample of every running app container and of the
// host, stores them in one batch, then deletes samples past the retention
// and those of apps that no longer exist. An engine failure is logged, not
// returned: the host is still sampled. The error is for what stops the
// round: the database, or /proc.
func (c *Collector) SampleOnce(ctx context.Context) error {
	c.sampling.Lock()
	defer c.sampling.Unlock()

	at := c.now().UTC()
	apps, err := c.client.App.Query().Select(app.FieldID, app.FieldLocation).All(ctx)
	if err != nil {
		return fmt.Errorf("metrics: sample: list apps: %w", err)
	}
	locations := make(map[string]string, len(apps))
	for _, a := range apps {
		locations[string(a.ID)] = a.Location
	}

	// The containers first: they take the engine's second and a half, and
	// the host's CPU reading should be as close as possible to at.
	stats := c.sampleApps(ctx, locations)

	host, err := readHost(c.procRoot)
	if err != nil {
		return fmt.Errorf("metrics: sample host: %w", err)
	}

	builders := make([]*ent.MetricSampleCreate, 0, len(stats)+1)
	builders = append(builders, c.client.MetricSample.Create().
		SetAt(at).
		SetCPUPercent(cpuPercent(c.prevCPU, host.cpu)).
		SetMemoryBytes(clamp(host.memUsed)).
		SetMemoryLimit(clamp(host.memTotal)).
		SetNetRx(clamp(host.netRx)).
		SetNetTx(clamp(host.netTx)).
		SetBlockRead(clamp(host.blockRead)).
		SetBlockWrite(clamp(host.blockWrite)))
	for appID, s := range stats {
		builders = append(builders, c.client.MetricSample.Create().
			SetAppID(appID).
			SetAt(at).
			SetCPUPercent(s.CPUPercent).
			SetMemoryBytes(clamp(s.MemoryBytes)).
			SetMemoryLimit(clamp(s.MemoryLimit)).
			SetNetRx(clamp(s.NetRxBytes)).
			SetNetTx(clamp(s.NetTxBytes)).
			SetBlockRead(clamp(s.BlockReadBytes)).
			SetBlockWrite(clamp(s.BlockWriteBytes)))
	}
	saved, err := c.client.MetricSample.CreateBulk(builders...).Save(ctx)
	if err != nil {
		return fmt.Errorf("metrics: store %d samples: %w", len(builders), err)
	}
	// Only once stored: a failed round must not move the CPU baseline, or
	// the next percent would cover two intervals' worth of one.
	c.prevCPU = host.cpu

	latest := make([]latestSample, 0, len(saved))
	for _, s := range saved {
		var loc string
		if s.AppID != nil {
			loc = locations[*s.AppID]
		}
		latest = append(latest, latestSample{sample: s, location: loc})
	}
	c.mu.Lock()
	c.latest = latest
	c.mu.Unlock()

	return c.prune(ctx, at, locations)
}

// sampleApps returns the stats of each app's running container, keyed by
// app ID. Failures are logged and leave that app out.
func (c *Collector) sampleApps(ctx context.Context, locations map[string]string) map[string]docker.Stats {
	ctrs, err := c.engine.List(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "cannot list app containers; sampling the host only", "err", err)
		return nil
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		out  = map[string]docker.Stats{}
		sema = make(chan struct{}, maxConcurrentStats)
	)
	for _, ctr := range ctrs {
		if !ctr.Running || ctr.AppID == "" {
			continue // a stopped app has no use to show: a gap, not zeros
		}
		if _, ok := locations[ctr.AppID]; !ok {
			// Left over from an app that is gone (or not yet stored):
			// its samples would be swept at once.
			continue
		}
		wg.Go(func() {
			sema <- struct{}{}
			defer func() { <-sema }()
			s, err := c.engine.Stats(ctx, ctr.ID)
			if err != nil {
				c.log.WarnContext(ctx, "cannot sample container", "app", ctr.AppID, "container", ctr.Name, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			// An app has one container, except half-way through a
			// recreation: then both count.
			if prev, ok := out[ctr.AppID]; ok {
				s.CPUPercent += prev.CPUPercent
				s.MemoryBytes += prev.MemoryBytes
				s.MemoryLimit = max(s.MemoryLimit, prev.MemoryLimit)
				s.NetRxBytes += prev.NetRxBytes
				s.NetTxBytes += prev.NetTxBytes
				s.BlockReadBytes += prev.BlockReadBytes
				s.BlockWriteBytes += prev.BlockWriteBytes
			}
			out[ctr.AppID] = *s
		})
	}
	wg.Wait()
	return out
}

// prune deletes samples older than the retention and, when an app has gone
// since the previous round (or on the first round, for apps uninstalled
// while berth was down), the samples of every app that no longer exists.
func (c *Collector) prune(ctx context.Context, now time.Time, apps map[string]string) error {
	n, err := c.client.MetricSample.Delete().
		Where(metricsample.AtLT(now.Add(-c.retention))).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("metrics: delete samples past retention: %w", err)
	}
	if n > 0 {
		c.log.DebugContext(ctx, "deleted old samples", "count", n)
	}

	gone := c.apps == nil
	for id := range c.apps {
		if _, ok := apps[id]; !ok {
			gone = true
			break
		}
	}
	if gone {
		// One statement against the apps table rather than a list of IDs:
		// it also catches an app deleted between our query and now.
		n, err := c.client.MetricSample.Delete().
			Where(metricsample.AppIDNotNil(), func(s *entsql.Selector) {
				s.Where(entsql.NotIn(s.C(metricsample.FieldAppID),
					entsql.Select(app.FieldID).From(entsql.Table(app.Table))))
			}).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("metrics: delete samples of deleted apps: %w", err)
		}
		if n > 0 {
			c.log.InfoContext(ctx, "deleted samples of deleted apps", "count", n)
		}
	}
	seen := make(map[string]bool, len(apps))
	for id := range apps {
		seen[id] = true
	}
	c.apps = seen
	return nil
}

// clamp converts a counter to the int64 the database stores. A uint64 past
// MaxInt64 is 8 EiB: it means a bogus reading, not a real one.
func clamp(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
