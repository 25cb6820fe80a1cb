package docker_test

// These tests run against the real engine (DOCKER_HOST or the local socket)
// with the local images from scripts/test-image.sh. Without an engine or the
// images they skip, and fail when CI is set.

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"berth/docker"
)

const (
	imageV1     = "berth-test/busybox:1"
	imageV2     = "berth-test/busybox:2"
	imageBroken = "berth-test/broken:1"
)

// harness is one test's berth Client with its own instance name, plus a raw
// engine client to look behind its back.
type harness struct {
	c        *docker.Client
	raw      *client.Client
	instance string
}

// setup returns a harness whose containers (and those passed to track) are
// removed when the test ends. Call t.Parallel first, if at all.
func setup(t *testing.T) *harness {
	t.Helper()
	raw, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("raw client: %v", err)
	}
	t.Cleanup(func() { raw.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := raw.Ping(ctx); err != nil {
		noEngine(t, "the Docker engine does not answer (%v); run scripts/ensure-docker.sh", err)
	}
	for _, img := range []string{imageV1, imageV2, imageBroken} {
		if _, err := raw.ImageInspect(ctx, img); err != nil {
			noEngine(t, "test image %s is missing (%v); run scripts/test-image.sh", img, err)
		}
	}

	h := &harness{raw: raw, instance: unique("test")}
	h.c, err = docker.New(h.instance, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		h.c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		list, err := raw.ContainerList(ctx, container.ListOptions{
			All: true, Filters: filters.NewArgs(filters.Arg("label", docker.LabelInstance+"="+h.instance)),
		})
		if err != nil {
			t.Errorf("cleanup: list: %v", err)
			return
		}
		for _, c := range list {
			h.forceRemove(t, ctx, c.ID)
		}
	})
	return h
}

// noEngine skips the test, or fails it under CI where the engine is a must.
func noEngine(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: "+format, args...)
	}
	t.Skipf(format+" (skipping; with CI set this fails)", args...)
}

func unique(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:10])
}

func (h *harness) forceRemove(t *testing.T, ctx context.Context, id string) {
	err := h.raw.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("cleanup: remove %s: %v", id, err)
	}
}

// foreign creates and starts a container behind berth's back, removed at
// the end of the test.
func (h *harness) foreign(t *testing.T, name string, labels map[string]string) string {
	t.Helper()
	ctx := t.Context()
	resp, err := h.raw.ContainerCreate(ctx, &container.Config{Image: imageV1, Labels: labels}, nil, nil, nil, name)
	if err != nil {
		t.Fatalf("create foreign container %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.forceRemove(t, ctx, resp.ID)
	})
	if err := h.raw.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start foreign container %s: %v", name, err)
	}
	return resp.ID
}

func (h *harness) inspect(t *testing.T, id string) container.InspectResponse {
	t.Helper()
	in, err := h.raw.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatalf("inspect %s: %v", id, err)
	}
	return in
}

func (h *harness) gone(t *testing.T, id string) bool {
	t.Helper()
	_, err := h.raw.ContainerInspect(t.Context(), id)
	if err != nil && !cerrdefs.IsNotFound(err) {
		t.Fatalf("inspect %s: %v", id, err)
	}
	return cerrdefs.IsNotFound(err)
}

// started ensures and starts a container for spec.
func (h *harness) started(t *testing.T, spec docker.Spec) *docker.Container {
	t.Helper()
	ctr, _, err := h.c.Ensure(t.Context(), spec)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if err := h.c.Start(t.Context(), ctr.ID); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return ctr
}

// sh runs a shell command in the container and returns its stdout; it fails
// the test on a non-zero exit.
func (h *harness) sh(t *testing.T, id, script string) string {
	t.Helper()
	res, err := h.c.Exec(t.Context(), id, []string{"sh", "-c", script}, nil, 0)
	if err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exec %q: exit code %d, stderr %q", script, res.ExitCode, res.Stderr)
	}
	return strings.TrimSpace(res.Stdout)
}

// freePorts finds n consecutive ports free for network ("tcp" or "udp").
func freePorts(t *testing.T, network string, n int) int {
	t.Helper()
	bind := func(port int) (io.Closer, error) {
		if network == "udp" {
			return net.ListenPacket("udp", ":"+strconv.Itoa(port))
		}
		return net.Listen("tcp", ":"+strconv.Itoa(port))
	}
	for range 50 {
		first, err := bind(0)
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		var port int
		if pc, ok := first.(net.PacketConn); ok {
			port = pc.LocalAddr().(*net.UDPAddr).Port
		} else {
			port = first.(net.Listener).Addr().(*net.TCPAddr).Port
		}
		held := []io.Closer{first}
		ok := port+n-1 <= 65535
		for p := port + 1; ok && p < port+n; p++ {
			l, err := bind(p)
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatalf("no %d consecutive free %s ports", n, network)
	return 0
}

func TestUnavailable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	c, err := docker.New(unique("test"), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer c.Close()
	const id = "berth-nothing"
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", func(ctx context.Context) error { return c.Ping(ctx) }},
		{"ImageExists", func(ctx context.Context) error { _, err := c.ImageExists(ctx, imageV1); return err }},
		{"Find", func(ctx context.Context) error { _, err := c.Find(ctx, "app"); return err }},
		{"List", func(ctx context.Context) error { _, err := c.List(ctx); return err }},
		{"Ensure", func(ctx context.Context) error {
			_, _, err := c.Ensure(ctx, docker.Spec{AppID: "app", Image: imageV1})
			return err
		}},
		{"Start", func(ctx context.Context) error { return c.Start(ctx, id) }},
		{"Stop", func(ctx context.Context) error { return c.Stop(ctx, id, time.Second) }},
		{"Remove", func(ctx context.Context) error { return c.Remove(ctx, id) }},
		{"UpdateResources", func(ctx context.Context) error { return c.UpdateResources(ctx, id, 10, 64<<20) }},
		{"WaitRunning", func(ctx context.Context) error { return c.WaitRunning(ctx, id, time.Second) }},
		{"Exec", func(ctx context.Context) error { _, err := c.Exec(ctx, id, []string{"true"}, nil, 0); return err }},
		{"Logs", func(ctx context.Context) error { _, err := c.Logs(ctx, id, false, 10); return err }},
		{"Stats", func(ctx context.Context) error { _, err := c.Stats(ctx, id); return err }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx)
			if elapsed := time.Since(start); elapsed >= 2*time.Second {
				t.Errorf("took %v, want < 2s", elapsed)
			}
			if !errors.Is(err, docker.ErrUnavailable) {
				t.Fatalf("error = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestEnsureAdoptsOrReplaces(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	base := docker.Spec{
		AppID: unique("app"), Image: imageV1,
		Env: map[string]string{"MODE": "a"}, CPUQuota: 50, MemoryLimit: 64 << 20,
	}

	first, created, err := h.c.Ensure(ctx, base)
	if err != nil || !created {
		t.Fatalf("Ensure = created %v, %v; want a new container", created, err)
	}
	in := h.inspect(t, first.ID)
	wantLabels := map[string]string{
		docker.LabelApp: base.AppID, docker.LabelInstance: h.instance, docker.LabelConfigHash: base.Hash(),
	}
	for k, v := range wantLabels {
		if got := in.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if want := "berth-" + base.AppID; first.Name != want || in.Name != "/"+want {
		t.Errorf("name = %q (engine %q), want %q", first.Name, in.Name, want)
	}
	if first.AppID != base.AppID || first.ConfigHash != base.Hash() || first.Image != imageV1 || first.Running || first.State != "created" {
		t.Errorf("Ensure returned %+v", first)
	}

	again, created, err := h.c.Ensure(ctx, clone(base))
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("Ensure(same spec) = %s, created %v, %v; want adoption of %s", again.ID, created, err, first.ID)
	}

	// Each change replaces the container; the last ones while it runs.
	changes := []struct {
		name   string
		change func(*docker.Spec)
		run    bool
	}{
		{"env", func(s *docker.Spec) { s.Env["MODE"] = "b" }, false},
		{"memory limit", func(s *docker.Spec) { s.MemoryLimit = 96 << 20 }, false},
		{"cpu quota", func(s *docker.Spec) { s.CPUQuota = 25 }, false},
		{"image", func(s *docker.Spec) { s.Image = imageV2 }, true},
		{"port", func(s *docker.Spec) {
			s.Ports = []docker.Port{{EnvVar: "PORT", HostPort: freePorts(t, "tcp", 1)}}
		}, true},
	}
	spec, current := base, first.ID
	for _, tt := range changes {
		spec = clone(spec)
		tt.change(&spec)
		if tt.run {
			if err := h.c.Start(ctx, current); err != nil {
				t.Fatalf("%s: Start: %v", tt.name, err)
			}
		}
		got, created, err := h.c.Ensure(ctx, spec)
		if err != nil {
			t.Fatalf("%s: Ensure: %v", tt.name, err)
		}
		if !created || got.ID == current {
			t.Errorf("%s: Ensure = %s, created %v; want a new container", tt.name, got.ID, created)
		}
		if !h.gone(t, current) {
			t.Errorf("%s: the replaced container %s still exists", tt.name, current)
		}
		if got.ConfigHash != spec.Hash() || got.Image != spec.Image {
			t.Errorf("%s: new container has hash %s image %s, want %s %s", tt.name, got.ConfigHash, got.Image, spec.Hash(), spec.Image)
		}
		current = got.ID
	}
	list, err := h.c.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != current {
		t.Errorf("List = %+v, %v; want only %s", list, err, current)
	}
}

func TestEnsureUnknownImage(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	spec := docker.Spec{AppID: unique("app"), Image: imageV1}
	ctr, _, err := h.c.Ensure(ctx, spec)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}

	spec.Image = "berth-test/does-not-exist:1"
	start := time.Now()
	_, _, err = h.c.Ensure(ctx, spec)
	if !errors.Is(err, docker.ErrImageNotFound) {
		t.Fatalf("Ensure(unknown image) = %v, want ErrImageNotFound", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Ensure(unknown image) took %v: did it try to pull?", elapsed)
	}
	if found, err := h.c.Find(ctx, spec.AppID); err != nil || found.ID != ctr.ID {
		t.Errorf("after the failed Ensure, Find = %v, %v; want the old container %s kept", found, err, ctr.ID)
	}
}

func TestImageExists(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tests := []struct {
		ref     string
		want    bool
		wantErr error
	}{
		{imageV1, true, nil},
		{imageBroken, true, nil},
		{"berth-test/busybox:999", false, nil},
		{"berth-test/does-not-exist:1", false, nil},
		{"Not/A Valid:Ref", false, docker.ErrInvalidSpec},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := h.c.ImageExists(t.Context(), tt.ref)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ImageExists = %v, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ImageExists = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestStartAppliesSpecAndUpdatesLive(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("hi from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tcp, udp := freePorts(t, "tcp", 2), freePorts(t, "udp", 1)
	spec := docker.Spec{
		AppID:       unique("app"),
		Image:       imageV1,
		Env:         map[string]string{"GREETING": "hello"},
		Mounts:      []docker.Mount{{Source: dir, Target: "/srv", ReadOnly: true}},
		Ports:       []docker.Port{{EnvVar: "HTTP_PORT", HostPort: tcp, Count: 2}, {EnvVar: "DNS_PORT", HostPort: udp, Proto: "udp"}},
		CPUQuota:    50,
		MemoryLimit: 64 << 20,
		Hostname:    "berth-app",
		ExtraHosts:  []string{"berth-host:10.9.8.7"},
	}
	ctr := h.started(t, spec)
	in := h.inspect(t, ctr.ID)

	t.Run("running", func(t *testing.T) {
		if !in.State.Running {
			t.Fatalf("state %s, want running", in.State.Status)
		}
		found, err := h.c.Find(ctx, spec.AppID)
		if err != nil || !found.Running || found.State != "running" || found.StartedAt.IsZero() {
			t.Fatalf("Find = %+v, %v; want it running", found, err)
		}
	})
	t.Run("limits", func(t *testing.T) {
		hc := in.HostConfig
		if want := docker.NanoCPUs(50); hc.NanoCPUs != want || want == 0 {
			t.Errorf("NanoCPUs = %d, want %d", hc.NanoCPUs, want)
		}
		if hc.Memory != 64<<20 || hc.MemorySwap != 64<<20 {
			t.Errorf("Memory, MemorySwap = %d, %d; want %d for both", hc.Memory, hc.MemorySwap, 64<<20)
		}
		if got := cgroupLimits(t, h, ctr.ID); got != (limits{docker.NanoCPUs(50), 64 << 20}) {
			t.Errorf("cgroup limits inside = %+v, want %d nano CPUs, %d bytes", got, docker.NanoCPUs(50), 64<<20)
		}
	})
	t.Run("ports published", func(t *testing.T) {
		want := map[string]string{
			fmt.Sprintf("%d/tcp", tcp): strconv.Itoa(tcp), fmt.Sprintf("%d/tcp", tcp+1): strconv.Itoa(tcp + 1),
			fmt.Sprintf("%d/udp", udp): strconv.Itoa(udp),
		}
		for port, hostPort := range want {
			b := in.HostConfig.PortBindings[nat.Port(port)]
			if len(b) != 1 || b[0].HostPort != hostPort || b[0].HostIP != "" {
				t.Errorf("binding of %s = %+v, want host port %s on all interfaces", port, b, hostPort)
			}
			if len(in.NetworkSettings.Ports[nat.Port(port)]) == 0 {
				t.Errorf("%s is not published: %+v", port, in.NetworkSettings.Ports)
			}
		}
		// Serve the mount on the container port and fetch it from the host.
		h.sh(t, ctr.ID, fmt.Sprintf("httpd -p %d -h /srv", tcp+1))
		body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/hello", tcp+1))
		if body != "hi from the host\n" {
			t.Errorf("GET through the published port = %q", body)
		}
	})
	t.Run("env", func(t *testing.T) {
		for _, kv := range []string{"GREETING=hello", fmt.Sprintf("HTTP_PORT=%d", tcp), fmt.Sprintf("DNS_PORT=%d", udp)} {
			if !slices.Contains(in.Config.Env, kv) {
				t.Errorf("Config.Env = %v, want %s in it", in.Config.Env, kv)
			}
		}
		if got := h.sh(t, ctr.ID, `echo "$HTTP_PORT $GREETING"`); got != fmt.Sprintf("%d hello", tcp) {
			t.Errorf("env inside = %q", got)
		}
	})
	t.Run("mount, hostname, extra hosts", func(t *testing.T) {
		i := slices.IndexFunc(in.Mounts, func(m container.MountPoint) bool { return m.Destination == "/srv" })
		if i < 0 || in.Mounts[i].Type != "bind" || in.Mounts[i].Source != dir || in.Mounts[i].RW {
			t.Errorf("Mounts = %+v, want %s read-only at /srv", in.Mounts, dir)
		}
		if got := h.sh(t, ctr.ID, "cat /srv/hello; hostname; grep berth-host /etc/hosts"); !strings.Contains(got, "hi from the host\nberth-app\n10.9.8.7") {
			t.Errorf("inside: %q", got)
		}
	})

	t.Run("update resources live", func(t *testing.T) {
		updates := []struct {
			cpu int
			mem int64
		}{{25, 128 << 20}, {10, 32 << 20}}
		for _, u := range updates {
			if err := h.c.UpdateResources(ctx, ctr.ID, u.cpu, u.mem); err != nil {
				t.Fatalf("UpdateResources(%d, %d): %v", u.cpu, u.mem, err)
			}
			now := h.inspect(t, ctr.ID)
			if now.HostConfig.NanoCPUs != docker.NanoCPUs(u.cpu) || now.HostConfig.Memory != u.mem || now.HostConfig.MemorySwap != u.mem {
				t.Errorf("after UpdateResources(%d, %d): NanoCPUs %d, Memory %d, MemorySwap %d", u.cpu, u.mem,
					now.HostConfig.NanoCPUs, now.HostConfig.Memory, now.HostConfig.MemorySwap)
			}
			if got := cgroupLimits(t, h, ctr.ID); got != (limits{docker.NanoCPUs(u.cpu), u.mem}) {
				t.Errorf("after UpdateResources(%d, %d): cgroup limits inside = %+v", u.cpu, u.mem, got)
			}
			if !now.State.Running || now.State.StartedAt != in.State.StartedAt || now.ID != in.ID {
				t.Errorf("after UpdateResources: running %v, started %s (was %s), ID %s: restarted or replaced",
					now.State.Running, now.State.StartedAt, in.State.StartedAt, now.ID)
			}
		}

		// Ensure with the spec now in force adopts the updated container.
		spec.CPUQuota, spec.MemoryLimit = 10, 32<<20
		got, created, err := h.c.Ensure(ctx, spec)
		if err != nil || created || got.ID != ctr.ID {
			t.Errorf("Ensure(updated limits) = %v, created %v, %v; want adoption of %s", got, created, err, ctr.ID)
		}

		refused := []struct {
			name string
			cpu  int
			mem  int64
			want error
		}{
			{"lift cpu limit", 0, 32 << 20, docker.ErrNotLive},
			{"lift memory limit", 10, 0, docker.ErrNotLive},
			{"quota over 100", 101, 32 << 20, docker.ErrInvalidSpec},
			{"memory below minimum", 10, 1 << 20, docker.ErrInvalidSpec},
		}
		for _, tt := range refused {
			if err := h.c.UpdateResources(ctx, ctr.ID, tt.cpu, tt.mem); !errors.Is(err, tt.want) {
				t.Errorf("%s: UpdateResources = %v, want %v", tt.name, err, tt.want)
			}
		}
	})
}

type limits struct {
	NanoCPUs int64
	Memory   int64
}

// cgroupLimits reads the limits in force from inside the container (cgroup
// v2, else v1).
func cgroupLimits(t *testing.T, h *harness, id string) limits {
	t.Helper()
	out := h.sh(t, id, `if [ -f /sys/fs/cgroup/cpu.max ]; then
  cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max
else
  echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
  cat /sys/fs/cgroup/memory/memory.limit_in_bytes
fi`)
	var quota, period, mem int64
	if _, err := fmt.Sscan(out, &quota, &period, &mem); err != nil || period == 0 {
		t.Fatalf("cgroup limits %q: %v", out, err)
	}
	return limits{quota * 1e9 / period, mem}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := hc.Get(url)
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		return string(body)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

func TestStopAndRemove(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	spec := docker.Spec{AppID: unique("app"), Image: imageV1}
	ctr := h.started(t, spec)
	if err := h.c.Start(ctx, ctr.ID); err != nil {
		t.Errorf("Start of a running container = %v, want nil", err)
	}

	start := time.Now()
	if err := h.c.Stop(ctx, ctr.ID, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Stop took %v, want well under 5s (the image exits on SIGTERM)", elapsed)
	}
	found, err := h.c.Find(ctx, spec.AppID)
	if err != nil || found.Running || found.State != "exited" || found.ExitCode != 0 {
		t.Fatalf("after Stop, Find = %+v, %v; want exited with 0", found, err)
	}
	if err := h.c.Stop(ctx, ctr.ID, time.Second); err != nil {
		t.Errorf("Stop of a stopped container = %v, want nil", err)
	}

	if err := h.c.Remove(ctx, ctr.ID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := h.c.Find(ctx, spec.AppID); !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("after Remove, Find = %v, want ErrNotFound", err)
	}
	for _, id := range []string{ctr.ID, "berth-" + unique("never")} {
		if err := h.c.Remove(ctx, id); err != nil {
			t.Errorf("Remove(missing %s) = %v, want nil", id, err)
		}
	}
	missing := []struct {
		name string
		call func() error
	}{
		{"Start", func() error { return h.c.Start(ctx, ctr.ID) }},
		{"Stop", func() error { return h.c.Stop(ctx, ctr.ID, time.Second) }},
		{"WaitRunning", func() error { return h.c.WaitRunning(ctx, ctr.ID, time.Second) }},
	}
	for _, tt := range missing {
		if err := tt.call(); !errors.Is(err, docker.ErrNotFound) {
			t.Errorf("%s(removed container) = %v, want ErrNotFound", tt.name, err)
		}
	}
}

func TestStartPortInUse(t *testing.T) {
	t.Parallel()
	h := setup(t)
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	ctr, _, err := h.c.Ensure(t.Context(), docker.Spec{
		AppID: unique("app"), Image: imageV1, Ports: []docker.Port{{EnvVar: "PORT", HostPort: port}},
	})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if err := h.c.Start(t.Context(), ctr.ID); !errors.Is(err, docker.ErrPortInUse) {
		t.Fatalf("Start with port %d taken = %v, want ErrPortInUse", port, err)
	}
}

func TestWaitRunning(t *testing.T) {
	t.Parallel()
	h := setup(t)
	tests := []struct {
		name     string
		image    string
		start    bool
		wantErr  bool
		wantCode int
		state    string
		output   string
	}{
		{"healthy image", imageV1, true, false, 0, "", ""},
		{"image that exits 1", imageBroken, true, true, 1, "exited", "exiting 1 on purpose"},
		{"never started", imageV1, false, true, 0, "created", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ctr, _, err := h.c.Ensure(ctx, docker.Spec{AppID: unique("app"), Image: tt.image})
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if tt.start {
				if err := h.c.Start(ctx, ctr.ID); err != nil {
					t.Fatalf("Start: %v", err)
				}
			}
			const settle = 1500 * time.Millisecond
			start := time.Now()
			err = h.c.WaitRunning(ctx, ctr.ID, settle)
			elapsed := time.Since(start)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("WaitRunning = %v, want nil", err)
				}
				if elapsed < settle {
					t.Errorf("WaitRunning returned after %v, before the settle time %v", elapsed, settle)
				}
				return
			}
			var exit *docker.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("WaitRunning = %v, want an *ExitError", err)
			}
			if exit.ExitCode != tt.wantCode || exit.State != tt.state || !strings.Contains(exit.Output, tt.output) {
				t.Errorf("ExitError = %+v, want exit code %d, state %s, output with %q", exit, tt.wantCode, tt.state, tt.output)
			}
			if tt.state == "exited" && !strings.Contains(err.Error(), fmt.Sprintf("exit code %d", tt.wantCode)) {
				t.Errorf("error %q does not name the exit code", err)
			}
			if !strings.Contains(err.Error(), tt.output) {
				t.Errorf("error %q does not carry the output", err)
			}
		})
	}
}

func TestExec(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctr := h.started(t, docker.Spec{AppID: unique("app"), Image: imageV1, Env: map[string]string{"FROM_SPEC": "spec"}})
	tests := []struct {
		name       string
		cmd        []string
		env        []string
		outputCap  int
		code       int
		stdout     string
		stderr     string
		truncated  bool
		stdoutHave string // when the exact text is not known
	}{
		{"exit code and streams", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, nil, 0, 3, "out\n", "err\n", false, ""},
		{"env", []string{"sh", "-c", `echo "$FOO|$BAR|$FROM_SPEC"`}, []string{"FOO=foo", "BAR=b a r"}, 0, 0, "foo|b a r|spec\n", "", false, ""},
		{"output cap", []string{"sh", "-c", "i=0; while [ $i -lt 1000 ]; do echo 0123456789; echo e >&2; i=$((i+1)); done"}, nil, 100,
			0, strings.Repeat("0123456789\n", 10)[:100], strings.Repeat("e\n", 50), true, ""},
		{"cap does not split a rune", []string{"sh", "-c", "printf 'ééé'"}, nil, 3, 0, "é", "", true, ""},
		{"missing command", []string{"/no/such/command"}, nil, 0, 126, "", "", false, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := time.Now()
			res, err := h.c.Exec(t.Context(), ctr.ID, tt.cmd, tt.env, tt.outputCap)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if res.ExitCode != tt.code || res.Truncated != tt.truncated {
				t.Errorf("exit code %d, truncated %v; want %d, %v", res.ExitCode, res.Truncated, tt.code, tt.truncated)
			}
			if tt.stdoutHave != "" {
				if !strings.Contains(res.Stdout+res.Stderr, tt.stdoutHave) {
					t.Errorf("output %q + %q, want %q in it", res.Stdout, res.Stderr, tt.stdoutHave)
				}
			} else if res.Stdout != tt.stdout || res.Stderr != tt.stderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", res.Stdout, res.Stderr, tt.stdout, tt.stderr)
			}
			if res.StartedAt.Before(before) || res.FinishedAt.Before(res.StartedAt) || time.Since(res.FinishedAt) < 0 {
				t.Errorf("started %v, finished %v: not in order", res.StartedAt, res.FinishedAt)
			}
		})
	}

	t.Run("container not running", func(t *testing.T) {
		t.Parallel()
		idle, _, err := h.c.Ensure(t.Context(), docker.Spec{AppID: unique("app"), Image: imageV1})
		if err != nil {
			t.Fatalf("Ensure: %v", err)
		}
		if _, err := h.c.Exec(t.Context(), idle.ID, []string{"true"}, nil, 0); !errors.Is(err, docker.ErrNotRunning) {
			t.Fatalf("Exec = %v, want ErrNotRunning", err)
		}
	})
}

func TestLogs(t *testing.T) {
	t.Parallel()
	h := setup(t)

	t.Run("past output of an exited container", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		ctr := h.started(t, docker.Spec{AppID: unique("app"), Image: imageBroken})
		var exit *docker.ExitError
		if err := h.c.WaitRunning(ctx, ctr.ID, 5*time.Second); !errors.As(err, &exit) {
			t.Fatalf("WaitRunning = %v, want the container to exit", err)
		}
		rc, err := h.c.Logs(ctx, ctr.ID, false, -1)
		if err != nil {
			t.Fatalf("Logs: %v", err)
		}
		defer rc.Close()
		out, err := io.ReadAll(rc)
		if err != nil || string(out) != "berth-test/broken: exiting 1 on purpose\n" {
			t.Errorf("Logs = %q, %v", out, err)
		}
	})

	t.Run("follow joins partial lines and stops on close", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		ctr := h.started(t, docker.Spec{AppID: unique("app"), Image: imageV1})
		rc, err := h.c.Logs(ctx, ctr.ID, true, 0)
		if err != nil {
			t.Fatalf("Logs: %v", err)
		}
		// Writing to PID 1's stdout and stderr is writing to the
		// container's log.
		h.sh(t, ctr.ID, `echo one > /proc/1/fd/1; printf par > /proc/1/fd/1; echo two > /proc/1/fd/2; printf 'tial\n' > /proc/1/fd/1`)
		lines := make(chan string)
		done := make(chan error, 1)
		go func() {
			sc := bufio.NewScanner(rc)
			for sc.Scan() {
				lines <- sc.Text()
			}
			done <- sc.Err()
		}()
		var got []string
		timeout := time.After(10 * time.Second)
		for len(got) < 3 {
			select {
			case l := <-lines:
				got = append(got, l)
			case <-timeout:
				t.Fatalf("lines so far %q; want 3", got)
			}
		}
		slices.Sort(got)
		if want := []string{"one", "partial", "two"}; !slices.Equal(got, want) {
			t.Errorf("lines %q, want %q (in any order)", got, want)
		}
		start := time.Now()
		if err := rc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case <-done:
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("reading ended %v after Close", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a follow reader still blocks 5s after Close")
		}
	})
}

func TestStats(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctr := h.started(t, docker.Spec{AppID: unique("app"), Image: imageV1, MemoryLimit: 64 << 20})
	st, err := h.c.Stats(t.Context(), ctr.ID)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.MemoryBytes == 0 || st.MemoryLimit != 64<<20 {
		t.Errorf("memory %d of %d, want > 0 of %d", st.MemoryBytes, st.MemoryLimit, 64<<20)
	}
	if st.CPUPercent < 0 || st.CPUPercent > 100 {
		t.Errorf("CPU %v%%, want 0-100", st.CPUPercent)
	}
}

func TestOwnership(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ctx := t.Context()
	app := unique("app")
	unlabelled := h.foreign(t, unique("berth-test-unlabelled"), nil)
	otherInstance := h.foreign(t, unique("berth-test-other"), map[string]string{
		docker.LabelApp: app, docker.LabelInstance: h.instance + "-other", docker.LabelConfigHash: "x",
	})

	ours, created, err := h.c.Ensure(ctx, docker.Spec{AppID: app, Image: imageV1})
	if err != nil || !created {
		t.Fatalf("Ensure = %v, created %v; want a new container", err, created)
	}
	if err := h.c.Start(ctx, ours.ID); err != nil {
		t.Fatalf("Start: %v", err)
	}
	list, err := h.c.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != ours.ID {
		t.Errorf("List = %+v, %v; want only %s", list, err, ours.ID)
	}
	if found, err := h.c.Find(ctx, app); err != nil || found.ID != ours.ID {
		t.Errorf("Find = %+v, %v; want %s", found, err, ours.ID)
	}

	for name, id := range map[string]string{"unlabelled": unlabelled, "other instance's": otherInstance} {
		calls := []struct {
			op   string
			call func() error
		}{
			{"Remove", func() error { return h.c.Remove(ctx, id) }},
			{"Stop", func() error { return h.c.Stop(ctx, id, 0) }},
			{"Start", func() error { return h.c.Start(ctx, id) }},
			{"UpdateResources", func() error { return h.c.UpdateResources(ctx, id, 10, 64<<20) }},
			{"WaitRunning", func() error { return h.c.WaitRunning(ctx, id, 0) }},
			{"Exec", func() error { _, err := h.c.Exec(ctx, id, []string{"true"}, nil, 0); return err }},
			{"Logs", func() error { _, err := h.c.Logs(ctx, id, false, 1); return err }},
			{"Stats", func() error { _, err := h.c.Stats(ctx, id); return err }},
		}
		for _, tt := range calls {
			if err := tt.call(); !errors.Is(err, docker.ErrNotOwned) {
				t.Errorf("%s on the %s container = %v, want ErrNotOwned", tt.op, name, err)
			}
		}
	}

	// Replacing and removing our container leaves the others running.
	if _, _, err := h.c.Ensure(ctx, docker.Spec{AppID: app, Image: imageV2}); err != nil {
		t.Fatalf("Ensure(new image): %v", err)
	}
	found, err := h.c.Find(ctx, app)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if err := h.c.Remove(ctx, found.ID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	for name, id := range map[string]string{"unlabelled": unlabelled, "other instance's": otherInstance} {
		if in := h.inspect(t, id); !in.State.Running {
			t.Errorf("the %s container is %s, want it left running", name, in.State.Status)
		}
	}

	t.Run("name held by a container berth does not own", func(t *testing.T) {
		app := unique("app")
		squatter := h.foreign(t, "berth-"+app, nil)
		_, _, err := h.c.Ensure(ctx, docker.Spec{AppID: app, Image: imageV1})
		if !errors.Is(err, docker.ErrNameInUse) {
			t.Fatalf("Ensure = %v, want ErrNameInUse", err)
		}
		if in := h.inspect(t, squatter); !in.State.Running {
			t.Errorf("the squatter is %s, want it left running", in.State.Status)
		}
	})
}
