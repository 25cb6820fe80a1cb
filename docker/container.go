package docker

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"
)

// ReplaceStopTimeout is how long Ensure lets a running container it replaces
// shut down before the engine kills it: an app's data deserves a clean stop.
const ReplaceStopTimeout = 10 * time.Second

// exitOutputLines is how much of a failed container's output an ExitError
// carries: enough to see why, little enough for a task message.
const exitOutputLines = 20

// Container is what berth needs to know of an app's container.
type Container struct {
	ID, Name, Image, ConfigHash, AppID string
	ImageID                            string // the image's content ID (sha256:...), which Image named at creation
	Running                            bool
	State                              string // docker's: created, running, exited, ...
	ExitCode                           int
	StartedAt                          time.Time
}

func toContainer(in container.InspectResponse) *Container {
	out := &Container{ID: in.ID, Name: strings.TrimPrefix(in.Name, "/"), ImageID: in.Image}
	if in.Config != nil {
		out.Image = in.Config.Image
		out.ConfigHash = in.Config.Labels[LabelConfigHash]
		out.AppID = in.Config.Labels[LabelApp]
	}
	if st := in.State; st != nil {
		out.Running = st.Running
		out.State = string(st.Status)
		out.ExitCode = st.ExitCode
		// The engine reports "0001-01-01T00:00:00Z" for never started,
		// which parses to the zero time.
		out.StartedAt, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
	}
	return out
}

// inspectOwned inspects id (an ID, ID prefix or name) and makes sure this
// instance owns it. Callers act on the returned full ID, so that they act on
// the container that was checked.
func (c *Client) inspectOwned(ctx context.Context, id string) (container.InspectResponse, error) {
	in, err := c.api.ContainerInspect(ctx, id)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return in, ErrNotFound
		}
		return in, fmt.Errorf("inspect: %w", classify(err))
	}
	if labels(in)[LabelInstance] != c.instance {
		return in, ErrNotOwned
	}
	return in, nil
}

func labels(in container.InspectResponse) map[string]string {
	if in.Config == nil {
		return nil
	}
	return in.Config.Labels
}

// listOwned inspects every container (running or not) with this instance's
// label and, if appID is not empty, that app's label.
func (c *Client) listOwned(ctx context.Context, appID string) ([]container.InspectResponse, error) {
	args := filters.NewArgs(filters.Arg("label", LabelInstance+"="+c.instance))
	if appID != "" {
		args.Add("label", LabelApp+"="+appID)
	}
	sums, err := c.api.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list: %w", classify(err))
	}
	out := make([]container.InspectResponse, 0, len(sums))
	for _, s := range sums {
		in, err := c.api.ContainerInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", shortID(s.ID), classify(err))
		}
		// The filter did this already; checked again because acting on a
		// container berth does not own is the one mistake not to make.
		if labels(in)[LabelInstance] != c.instance {
			continue
		}
		out = append(out, in)
	}
	return out, nil
}

// Find returns the app's container owned by this instance, or an error
// wrapping ErrNotFound when there is none.
func (c *Client) Find(ctx context.Context, appID string) (*Container, error) {
	if appID == "" {
		return nil, fmt.Errorf("docker: find: %w: empty app ID", ErrInvalidSpec)
	}
	all, err := c.listOwned(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("docker: find app %s: %w", appID, err)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("docker: find app %s: %w", appID, ErrNotFound)
	}
	// There is one unless something went wrong half-way; prefer the one
	// with the app's name, then the newest.
	name := "/" + ContainerName(appID)
	best := slices.MaxFunc(all, func(a, b container.InspectResponse) int {
		return cmp.Or(cmp.Compare(boolInt(a.Name == name), boolInt(b.Name == name)), cmp.Compare(a.Created, b.Created))
	})
	return toContainer(best), nil
}

// List returns every container this instance owns, sorted by name.
func (c *Client) List(ctx context.Context) ([]Container, error) {
	all, err := c.listOwned(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	out := make([]Container, 0, len(all))
	for _, in := range all {
		out = append(out, *toContainer(in))
	}
	slices.SortFunc(out, func(a, b Container) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// Ensure makes the app's container match spec. It adopts the existing
// container (created=false) when it was built from an equal spec (same
// config hash), or from one that differs only in limits that were since
// applied to it live by UpdateResources. Otherwise it stops and removes the
// app's containers and creates a new one named ContainerName(spec.AppID)
// (created=true). It never starts the container and never pulls: a missing
// image is ErrImageNotFound, found before anything is removed. The image is
// compared by reference, not content: a tag moved to another image does not
// by itself cause a new container. Callers serialise Ensure per app (the
// app's lock); two at once may fail with ErrNameInUse.
func (c *Client) Ensure(ctx context.Context, spec Spec) (*Container, bool, error) {
	ctr, created, err := c.ensure(ctx, spec)
	if err != nil {
		return nil, false, fmt.Errorf("docker: ensure app %s: %w", spec.AppID, err)
	}
	return ctr, created, nil
}

func (c *Client) ensure(ctx context.Context, spec Spec) (*Container, bool, error) {
	if err := spec.Validate(); err != nil {
		return nil, false, err
	}
	switch _, err := c.api.ImageInspect(ctx, spec.Image); {
	case cerrdefs.IsNotFound(err):
		return nil, false, fmt.Errorf("%q: %w", spec.Image, ErrImageNotFound)
	case cerrdefs.IsInvalidArgument(err):
		return nil, false, fmt.Errorf("image %q: %w: %w", spec.Image, ErrInvalidSpec, err)
	case err != nil:
		return nil, false, fmt.Errorf("inspect image %q: %w", spec.Image, classify(err))
	}
	existing, err := c.listOwned(ctx, spec.AppID)
	if err != nil {
		return nil, false, err
	}
	name := ContainerName(spec.AppID)
	keep := slices.IndexFunc(existing, func(in container.InspectResponse) bool { return matches(in, name, spec) })
	if keep < 0 {
		// Fail before removing anything if the name is held by a container
		// berth must not touch.
		in, err := c.api.ContainerInspect(ctx, name)
		switch {
		case err == nil && (labels(in)[LabelInstance] != c.instance || labels(in)[LabelApp] != spec.AppID):
			return nil, false, fmt.Errorf("%s (%s, instance %q): %w", name, shortID(in.ID), labels(in)[LabelInstance], ErrNameInUse)
		case err != nil && !cerrdefs.IsNotFound(err):
			return nil, false, fmt.Errorf("inspect %s: %w", name, classify(err))
		}
	}
	for i, in := range existing {
		if i == keep {
			continue
		}
		if err := c.discard(ctx, in); err != nil {
			return nil, false, err
		}
	}
	if keep >= 0 {
		ctr := toContainer(existing[keep])
		c.log.DebugContext(ctx, "adopted container", "app", spec.AppID, "id", shortID(ctr.ID), "state", ctr.State)
		return ctr, false, nil
	}

	cfg, host := spec.containerConfig(c.instance)
	resp, err := c.api.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		switch {
		case cerrdefs.IsNotFound(err): // the image went away since the check
			return nil, false, fmt.Errorf("create %s: %q: %w: %w", name, spec.Image, ErrImageNotFound, err)
		case cerrdefs.IsConflict(err):
			return nil, false, fmt.Errorf("create %s: %w: %w", name, ErrNameInUse, err)
		case cerrdefs.IsInvalidArgument(err):
			return nil, false, fmt.Errorf("create %s: %w: %w", name, ErrInvalidSpec, err)
		}
		return nil, false, fmt.Errorf("create %s: %w", name, classify(err))
	}
	for _, w := range resp.Warnings {
		c.log.WarnContext(ctx, "engine warning on create", "app", spec.AppID, "id", shortID(resp.ID), "warning", w)
	}
	in, err := c.api.ContainerInspect(ctx, resp.ID)
	if err != nil {
		return nil, false, fmt.Errorf("inspect new container %s: %w", shortID(resp.ID), classify(err))
	}
	c.log.InfoContext(ctx, "created container", "app", spec.AppID, "id", shortID(resp.ID),
		"image", spec.Image, "replaced", len(existing))
	return toContainer(in), true, nil
}

// matches reports whether in can serve as the app's container for spec.
func matches(in container.InspectResponse, name string, spec Spec) bool {
	if in.Name != "/"+name || in.HostConfig == nil || in.State == nil {
		return false
	}
	switch in.State.Status {
	case container.StateDead, container.StateRemoving:
		return false
	}
	l := labels(in)
	sameShape := l[LabelConfigHash] == spec.Hash() || l[LabelBaseHash] == spec.baseHash()
	// The limits in force, not the labelled ones: UpdateResources changes
	// only the former.
	sameLimits := in.HostConfig.NanoCPUs == NanoCPUs(spec.CPUQuota) && in.HostConfig.Memory == spec.MemoryLimit
	return sameShape && sameLimits
}

// discard stops an owned container gracefully, then removes it.
func (c *Client) discard(ctx context.Context, in container.InspectResponse) error {
	if in.State != nil && in.State.Running {
		secs := int(ReplaceStopTimeout / time.Second)
		if err := c.api.ContainerStop(ctx, in.ID, container.StopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("stop %s: %w", shortID(in.ID), classify(err))
		}
	}
	if err := c.remove(ctx, in.ID); err != nil {
		return err
	}
	c.log.InfoContext(ctx, "removed container", "app", labels(in)[LabelApp], "id", shortID(in.ID))
	return nil
}

func (c *Client) remove(ctx context.Context, id string) error {
	// Anonymous volumes go too: berth keeps app data in bind mounts, and a
	// replacement container would never get these volumes back anyway.
	err := c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove %s: %w", shortID(id), classify(err))
	}
	return nil
}

// Start starts the container; starting a running one is not an error. A host
// port that is already taken gives ErrPortInUse.
func (c *Client) Start(ctx context.Context, id string) error {
	in, err := c.inspectOwned(ctx, id)
	if err != nil {
		return fmt.Errorf("docker: start %s: %w", id, err)
	}
	if err := c.api.ContainerStart(ctx, in.ID, container.StartOptions{}); err != nil {
		switch msg := err.Error(); {
		case cerrdefs.IsNotFound(err):
			err = ErrNotFound
		case strings.Contains(msg, "address already in use"), strings.Contains(msg, "port is already allocated"):
			err = fmt.Errorf("%w: %w", ErrPortInUse, err)
		default:
			err = classify(err)
		}
		return fmt.Errorf("docker: start %s: %w", displayName(in), err)
	}
	c.log.InfoContext(ctx, "started container", "app", labels(in)[LabelApp], "id", shortID(in.ID))
	return nil
}

// Stop sends SIGTERM and, after timeout (rounded up to whole seconds; 0 means
// at once), SIGKILL. Stopping a stopped container is not an error.
func (c *Client) Stop(ctx context.Context, id string, timeout time.Duration) error {
	in, err := c.inspectOwned(ctx, id)
	if err != nil {
		return fmt.Errorf("docker: stop %s: %w", id, err)
	}
	secs := int(math.Ceil(max(timeout, 0).Seconds()))
	if err := c.api.ContainerStop(ctx, in.ID, container.StopOptions{Timeout: &secs}); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("docker: stop %s: %w", displayName(in), ErrNotFound)
		}
		return fmt.Errorf("docker: stop %s: %w", displayName(in), classify(err))
	}
	c.log.InfoContext(ctx, "stopped container", "app", labels(in)[LabelApp], "id", shortID(in.ID))
	return nil
}

// Remove removes the container, killing it if it runs. A missing container
// is not an error; one this instance does not own is ErrNotOwned.
func (c *Client) Remove(ctx context.Context, id string) error {
	in, err := c.inspectOwned(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("docker: remove %s: %w", id, err)
	}
	if err := c.remove(ctx, in.ID); err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	c.log.InfoContext(ctx, "removed container", "app", labels(in)[LabelApp], "id", shortID(in.ID))
	return nil
}

// UpdateResources changes the CPU quota (percent of the machine) and memory
// limit (bytes, no extra swap) of a container in place, without restarting
// it. The engine cannot lift a limit in place: asking for 0 (no limit) where
// one is set gives ErrNotLive, and the container must be recreated (Ensure).
func (c *Client) UpdateResources(ctx context.Context, id string, cpuQuota int, memoryLimit int64) error {
	if err := validateLimits(cpuQuota, memoryLimit); err != nil {
		return fmt.Errorf("docker: update resources of %s: %w: %w", id, ErrInvalidSpec, err)
	}
	in, err := c.inspectOwned(ctx, id)
	if err != nil {
		return fmt.Errorf("docker: update resources of %s: %w", id, err)
	}
	want := resources(cpuQuota, memoryLimit)
	have := in.HostConfig.Resources
	if (want.NanoCPUs == 0 && have.NanoCPUs != 0) || (want.Memory == 0 && have.Memory != 0) {
		return fmt.Errorf("docker: update resources of %s: lifting a limit: %w", displayName(in), ErrNotLive)
	}
	if want.NanoCPUs == have.NanoCPUs && want.Memory == have.Memory && want.MemorySwap == have.MemorySwap {
		return nil
	}
	resp, err := c.api.ContainerUpdate(ctx, in.ID, container.UpdateConfig{Resources: want})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("docker: update resources of %s: %w", displayName(in), ErrNotFound)
		}
		return fmt.Errorf("docker: update resources of %s: %w", displayName(in), classify(err))
	}
	for _, w := range resp.Warnings {
		c.log.WarnContext(ctx, "engine warning on update", "id", shortID(in.ID), "warning", w)
	}
	c.log.InfoContext(ctx, "updated container resources", "app", labels(in)[LabelApp], "id", shortID(in.ID),
		"cpu_quota", cpuQuota, "memory_limit", memoryLimit)
	return nil
}

// WaitRunning returns nil if the container is running and is still running
// (the same run: not restarted) after settle. If it is not running, or exits
// meanwhile, the error wraps an *ExitError with the exit code and the last
// lines of its output: how an update notices a broken new image.
func (c *Client) WaitRunning(ctx context.Context, id string, settle time.Duration) error {
	in, err := c.inspectOwned(ctx, id)
	if err != nil {
		return fmt.Errorf("docker: wait for %s: %w", id, err)
	}
	if err := c.waitRunning(ctx, in, settle); err != nil {
		return fmt.Errorf("docker: wait for %s: %w", displayName(in), err)
	}
	return nil
}

func (c *Client) waitRunning(ctx context.Context, in container.InspectResponse, settle time.Duration) error {
	if in.State == nil || !in.State.Running {
		return c.exitError(ctx, in)
	}
	if settle > 0 {
		if err := c.watch(ctx, in.ID, settle); err != nil {
			return err
		}
	}
	now, err := c.api.ContainerInspect(ctx, in.ID)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("removed meanwhile: %w", ErrNotFound)
		}
		return fmt.Errorf("inspect: %w", classify(err))
	}
	if now.State == nil || !now.State.Running || now.State.StartedAt != in.State.StartedAt {
		return c.exitError(ctx, now)
	}
	return nil
}

// watch returns when the container stops running or after settle, whichever
// is first; the caller inspects to tell which.
func (c *Client) watch(ctx context.Context, id string, settle time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, settle)
	defer cancel()
	waitC, errC := c.api.ContainerWait(wctx, id, container.WaitConditionNotRunning)
	select {
	case <-waitC:
		return nil
	case err := <-errC:
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case wctx.Err() != nil: // settled
			return nil
		case cerrdefs.IsNotFound(err):
			return fmt.Errorf("removed meanwhile: %w", ErrNotFound)
		}
		return fmt.Errorf("wait: %w", classify(err))
	}
}

func (c *Client) exitError(ctx context.Context, in container.InspectResponse) *ExitError {
	e := &ExitError{ID: in.ID}
	if in.State != nil {
		e.State, e.ExitCode = string(in.State.Status), in.State.ExitCode
	}
	out, err := c.tail(ctx, in, exitOutputLines)
	if err != nil {
		c.log.DebugContext(ctx, "no output for exit error", "id", shortID(in.ID), "err", err)
	}
	e.Output = out
	return e
}

// tail returns the last n lines of the container's output, stdout and
// stderr interleaved.
func (c *Client) tail(ctx context.Context, in container.InspectResponse, n int) (string, error) {
	rc, err := c.api.ContainerLogs(ctx, in.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return "", fmt.Errorf("logs: %w", classify(err))
	}
	defer rc.Close()
	var buf bytes.Buffer
	r := io.LimitReader(rc, 64<<10)
	if in.Config != nil && in.Config.Tty {
		_, err = io.Copy(&buf, r)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, r)
	}
	return buf.String(), err
}

func displayName(in container.InspectResponse) string {
	if n := strings.TrimPrefix(in.Name, "/"); n != "" {
		return n
	}
	return shortID(in.ID)
}
