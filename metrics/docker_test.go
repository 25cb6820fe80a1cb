package metrics

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"berth/docker"
	"berth/storage"
	"berth/storage/storagetest"
)

// TestSampleRealEngine samples a real container (scripts/test-image.sh's
// busybox) on the local engine. Without an engine or the image it skips,
// and fails when CI is set.
func TestSampleRealEngine(t *testing.T) {
	const image = "berth-test/busybox:1"
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	engine, err := docker.New("metrics-test-"+strings.ToLower(rand.Text()[:10]), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := engine.Ping(ctx); err != nil {
		noEngine(t, "the Docker engine does not answer (%v); run scripts/ensure-docker.sh", err)
	}
	if ok, err := engine.ImageExists(ctx, image); err != nil || !ok {
		noEngine(t, "test image %s is missing (%v); run scripts/test-image.sh", image, err)
	}

	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		a := newApp(t, db.Client, "metrics-"+strings.ToLower(rand.Text()[:8]))
		ctr, _, err := engine.Ensure(ctx, docker.Spec{AppID: string(a.ID), Image: image, MemoryLimit: 64 << 20})
		if err != nil {
			t.Fatalf("Ensure: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := engine.Remove(ctx, ctr.ID); err != nil {
				t.Errorf("remove container: %v", err)
			}
		})
		if err := engine.Start(ctx, ctr.ID); err != nil {
			t.Fatalf("Start: %v", err)
		}

		c, err := New(Config{Client: db.Client, Engine: engine, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SampleOnce(ctx); err != nil {
			t.Fatalf("SampleOnce: %v", err)
		}
		got := samples(t, db.Client)
		app := got[string(a.ID)]
		if len(app) != 1 {
			t.Fatalf("%d samples of the app, want 1", len(app))
		}
		if s := app[0]; s.MemoryBytes <= 0 || s.MemoryLimit != 64<<20 {
			t.Errorf("app sample: memory %d, limit %d; want memory > 0 and limit %d", s.MemoryBytes, s.MemoryLimit, 64<<20)
		}
		if host := got[""]; len(host) != 1 || host[0].MemoryBytes <= 0 || host[0].MemoryLimit < host[0].MemoryBytes {
			t.Errorf("host samples = %v; want one with 0 < memory <= total", host)
		}
	})
}

// noEngine skips the test, or fails it under CI where the engine is a must.
func noEngine(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: "+format, args...)
	}
	t.Skipf(format+" (skipping; with CI set this fails)", args...)
}
