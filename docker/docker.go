// Package docker is the only place berth talks to the Docker engine.
//
// Every container berth creates carries three labels: the app it belongs to
// (LabelApp), the berth installation that owns it (LabelInstance) and the hash
// of the configuration it was created from (LabelConfigHash). A Client acts
// only on containers that carry its own instance label: several berth
// installations, and containers nobody manages, may share one engine, and
// berth must never stop or remove what it does not own.
//
// The engine may be old (Debian's docker.io 20.10 speaks API 1.41), so the
// client negotiates the API version and uses nothing newer than 1.41. Images
// are never pulled: an app's image must already be on the host.
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// Labels on every container berth creates.
const (
	LabelApp        = "berth.app"         // the app ID
	LabelInstance   = "berth.instance"    // which berth installation owns it
	LabelConfigHash = "berth.config-hash" // hash of the effective Spec
	// LabelBaseHash is the hash of the effective Spec without its CPU and
	// memory limits. Those can be changed live (UpdateResources), but labels
	// cannot; this label lets Ensure adopt a container whose limits were
	// changed in place instead of recreating it.
	LabelBaseHash = "berth.base-hash"
)

// Errors callers branch on with errors.Is. The engine's own error stays in
// the chain beside them.
var (
	// ErrUnavailable: the engine cannot be reached.
	ErrUnavailable = errors.New("docker engine unavailable")
	// ErrImageNotFound: the image is not on the host (berth never pulls).
	ErrImageNotFound = errors.New("image not found")
	// ErrNotFound: no such container (or none for the app).
	ErrNotFound = errors.New("container not found")
	// ErrNotOwned: the container exists but belongs to another berth
	// installation or to nobody; berth leaves it alone.
	ErrNotOwned = errors.New("container not owned by this berth instance")
	// ErrNameInUse: the name berth-<appID> is taken by a container this
	// instance does not own, so Ensure cannot create the app's container.
	ErrNameInUse = errors.New("container name in use by a container berth does not own")
	// ErrInvalidSpec: the Spec (or a limit) is malformed; nothing was changed.
	ErrInvalidSpec = errors.New("invalid container spec")
	// ErrNotRunning: the operation needs a running container.
	ErrNotRunning = errors.New("container not running")
	// ErrNotLive: the change cannot be applied to an existing container
	// (the engine cannot lift a CPU or memory limit in place); recreate it
	// with Ensure instead.
	ErrNotLive = errors.New("change cannot be applied to an existing container")
	// ErrPortInUse: starting failed because a host port is already taken.
	ErrPortInUse = errors.New("host port already in use")
)

// ExitError reports a container that is not running when it should be: it
// exited (or never started) while WaitRunning was watching it.
type ExitError struct {
	ID       string
	State    string // docker's state: exited, created, dead, ...
	ExitCode int
	Output   string // the last lines of the container's output
}

func (e *ExitError) Error() string {
	var b strings.Builder
	if e.State == string(container.StateExited) || e.State == string(container.StateDead) {
		fmt.Fprintf(&b, "container %s exited with exit code %d", shortID(e.ID), e.ExitCode)
	} else {
		fmt.Fprintf(&b, "container %s is not running (state %s, exit code %d)", shortID(e.ID), e.State, e.ExitCode)
	}
	if out := strings.TrimSpace(e.Output); out != "" {
		b.WriteString("; last output:\n")
		b.WriteString(out)
	}
	return b.String()
}

// Client talks to one Docker engine on behalf of one berth instance. It is
// safe for concurrent use.
type Client struct {
	api      *client.Client
	instance string
	log      *slog.Logger
}

// New returns a Client for the engine named by the environment (DOCKER_HOST
// and friends, else the local socket). instance names this berth
// installation: it labels every container the Client creates and limits every
// operation to containers with that label. New does not contact the engine,
// so it succeeds while the engine is down; use Ping to check.
func New(instance string, log *slog.Logger) (*Client, error) {
	if strings.TrimSpace(instance) == "" {
		return nil, fmt.Errorf("docker: new client: %w: empty instance name", ErrInvalidSpec)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: new client: %w", err)
	}
	return &Client{api: api, instance: instance, log: log.With("component", "docker")}, nil
}

// Instance returns the instance name the Client labels and filters by.
func (c *Client) Instance() string { return c.instance }

// Close releases the Client's connections.
func (c *Client) Close() error {
	if err := c.api.Close(); err != nil {
		return fmt.Errorf("docker: close: %w", err)
	}
	return nil
}

// Ping checks that the engine answers.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.api.Ping(ctx); err != nil {
		return fmt.Errorf("docker: ping: %w", classify(err))
	}
	return nil
}

// ImageExists reports whether the image ref is present on the host.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	if _, err := c.api.ImageInspect(ctx, ref); err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		if cerrdefs.IsInvalidArgument(err) {
			return false, fmt.Errorf("docker: inspect image %q: %w: %w", ref, ErrInvalidSpec, err)
		}
		return false, fmt.Errorf("docker: inspect image %q: %w", ref, classify(err))
	}
	return true, nil
}

// classify marks connection failures with ErrUnavailable, so that callers
// can tell "the engine is down" from "the engine said no". Errors keep their
// own chain too (errdefs classes, context errors).
func classify(err error) error {
	if isUnavailable(err) && !errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func isUnavailable(err error) bool {
	if client.IsErrConnectionFailed(err) {
		return true
	}
	// Hijacked connections (exec attach) dial without the client's
	// connection-failure wrapping.
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
