package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"berth/command"
	"berth/docker"
	"berth/ent"
	entapp "berth/ent/app"
	"berth/ent/execrun"
	"berth/ent/schematype"
	enttask "berth/ent/task"
	"berth/ent/volumemount"
	"berth/gid"
	"berth/task"
)

// settle is how long a container must keep running to count as started:
// an image that exits at once is caught before the app is called running.
const settle = 2 * time.Second

// Engine is what the handlers need of the Docker engine.
type Engine interface {
	Ensure(ctx context.Context, spec docker.Spec) (*docker.Container, bool, error)
	Find(ctx context.Context, appID string) (*docker.Container, error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Remove(ctx context.Context, id string) error
	UpdateResources(ctx context.Context, id string, cpuQuota int, memoryLimit int64) error
	WaitRunning(ctx context.Context, id string, settle time.Duration) error
	Exec(ctx context.Context, id string, cmd []string, env []string, outputCap int) (*docker.ExecResult, error)
}

// Mail says where apps find the mail server.
type Mail struct {
	// FQDN is the mail server's full name, which its certificate is for;
	// apps with the mail-server-FQDN option see this name instead of "mail".
	FQDN string
	// IP is the internal address both names resolve to inside apps: no mail
	// port is published when the box receives no mail.
	IP string
}

// MailServerEnv is the variable that tells an app the mail server's name.
const MailServerEnv = "MAIL_SERVER_NAME"

// Handlers returns the task handlers of app operations, which run in the
// task subprocess against engine, with app data under dataRoot.
func Handlers(engine Engine, dataRoot string, mail Mail) task.Handlers {
	h := &handlers{engine: engine, dataRoot: dataRoot, mail: mail}
	return task.Handlers{
		enttask.TypeInstall:   h.install,
		enttask.TypeConfigure: h.configure,
		enttask.TypeStart:     h.runState,
		enttask.TypeStop:      h.runState,
		enttask.TypeRestart:   h.runState,
		enttask.TypeUpdate:    h.update,
		enttask.TypeUninstall: h.uninstall,
		enttask.TypeExec:      h.exec,
	}
}

type handlers struct {
	engine   Engine
	dataRoot string
	mail     Mail
}

// spec is the container an app should have.
func (h *handlers) spec(ctx context.Context, a *ent.App) (docker.Spec, error) {
	mounts, err := volumeMounts(ctx, a)
	if err != nil {
		return docker.Spec{}, err
	}
	env := make(map[string]string, len(a.Env)+1)
	for k, v := range a.Env {
		env[k] = v
	}
	mailName := "mail"
	if a.MailServerFqdn && h.mail.FQDN != "" {
		mailName = h.mail.FQDN
	}
	env[MailServerEnv] = mailName
	s := docker.Spec{
		AppID:       a.ID.String(),
		Image:       a.Image,
		Env:         env,
		Mounts:      []docker.Mount{{Source: DataDir(h.dataRoot, a.ID), Target: "/data"}},
		CPUQuota:    a.CPUQuota,
		MemoryLimit: a.MemoryLimit,
		Hostname:    hostLabel(a.Location),
	}
	for env, b := range a.PortBindings {
		s.Ports = append(s.Ports, docker.Port{EnvVar: env, HostPort: b.HostPort, Count: b.Count, Proto: string(b.Type)})
	}
	slices.SortFunc(s.Ports, func(x, y docker.Port) int { return x.HostPort - y.HostPort })
	if h.mail.IP != "" {
		s.ExtraHosts = append(s.ExtraHosts, "mail:"+h.mail.IP)
		if mailName != "mail" {
			s.ExtraHosts = append(s.ExtraHosts, mailName+":"+h.mail.IP)
		}
	}
	for _, m := range mounts {
		s.Mounts = append(s.Mounts, docker.Mount{Source: m.Edges.Volume.HostPath, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return s, nil
}

// hostLabel is the first label of a location: a container's host name.
func hostLabel(loc string) string {
	label, _, _ := strings.Cut(loc, ".")
	return label
}

// op runs one step of an app operation; a failure is recorded on the app
// (state error, the step named) and fails the task with the same code.
type op struct {
	run  *task.Run
	app  *ent.App
	step string
}

func (h *handlers) load(ctx context.Context, run *task.Run) (*op, error) {
	if run.Task.Edges.App == nil {
		a, err := run.Task.QueryApp().Only(ctx)
		if err != nil {
			return nil, fmt.Errorf("load the task's app: %w", err)
		}
		return &op{run: run, app: a}, nil
	}
	return &op{run: run, app: run.Task.Edges.App}, nil
}

// save writes the app under its lock: if this task lost the lock to another
// holder, the write does not happen.
func (o *op) save(ctx context.Context, mutate func(*ent.AppUpdateOne)) error {
	return o.run.Locks.Fenced(ctx, o.run.Lease, task.AppKey(o.app.ID), func(ctx context.Context) error {
		u := ent.FromContext(ctx).App.UpdateOne(o.app)
		mutate(u)
		a, err := u.Save(ctx)
		if err == nil {
			o.app = a.Unwrap()
		}
		return err
	})
}

// fail records err as the app's error, in state, and returns the failure.
func (o *op) fail(ctx context.Context, state entapp.InstallationState, code string, err error) error {
	f := &schematype.Failure{Code: code, Message: err.Error(), Step: o.step}
	if errors.Is(err, docker.ErrUnavailable) {
		f.Code = CodeDockerUnavailable
	}
	_ = o.run.Logf("%s failed: %v", o.step, err)
	if serr := o.save(context.WithoutCancel(ctx), func(u *ent.AppUpdateOne) {
		u.SetInstallationState(state).SetError(f)
	}); serr != nil {
		return errors.Join(f, serr)
	}
	return f
}

func (o *op) progress(percent int, step string) {
	o.step = step
	_ = o.run.Progress(percent, "%s", step)
}

// deploy makes the container match the app and starts it.
func (h *handlers) deploy(ctx context.Context, o *op, from int) error {
	o.progress(from, "prepare data directory")
	if err := os.MkdirAll(DataDir(h.dataRoot, o.app.ID), 0o750); err != nil {
		return err
	}
	o.progress(from+20, "create container")
	spec, err := h.spec(ctx, o.app)
	if err != nil {
		return err
	}
	c, created, err := h.engine.Ensure(ctx, spec)
	if err != nil {
		return err
	}
	if created {
		_ = o.run.Logf("created container %.12s", c.ID)
	} else {
		_ = o.run.Logf("container %.12s already matches", c.ID)
	}
	if err := o.save(ctx, func(u *ent.AppUpdateOne) { u.SetContainerID(c.ID) }); err != nil {
		return err
	}
	o.progress(from+40, "start container")
	if !c.Running {
		if err := h.engine.Start(ctx, c.ID); err != nil {
			return err
		}
	}
	if err := h.engine.WaitRunning(ctx, c.ID, settle); err != nil {
		return err
	}
	return nil
}

func (h *handlers) install(ctx context.Context, run *task.Run) (map[string]any, error) {
	o, err := h.load(ctx, run)
	if err != nil {
		return nil, err
	}
	if err := o.save(ctx, func(u *ent.AppUpdateOne) {
		u.SetInstallationState(entapp.InstallationStatePendingInstall).ClearError()
	}); err != nil {
		return nil, err
	}
	if err := h.deploy(ctx, o, 10); err != nil {
		return nil, o.fail(ctx, entapp.InstallationStateError, "INSTALL_FAILED", err)
	}
	err = o.save(ctx, func(u *ent.AppUpdateOne) {
		u.SetInstallationState(entapp.InstallationStateInstalled).SetRunState(entapp.RunStateRunning).ClearError()
	})
	return map[string]any{"containerId": o.app.ContainerID}, err
}

func (h *handlers) configure(ctx context.Context, run *task.Run) (map[string]any, error) {
	o, err := h.load(ctx, run)
	if err != nil {
		return nil, err
	}
	a := run.Task.Args
	err = o.save(ctx, func(u *ent.AppUpdateOne) {
		u.SetInstallationState(entapp.InstallationStatePendingConfigure).ClearError()
		if v, ok := a["cpuQuota"].(float64); ok {
			u.SetCPUQuota(int(v))
		}
		if v, ok := a["memoryLimit"].(float64); ok {
			u.SetMemoryLimit(int64(v))
		}
		if v, ok := decode[map[string]string](a, "env"); ok {
			u.SetEnv(v)
		}
		if v, ok := decode[schematype.PortBindings](a, "portBindings"); ok {
			u.SetPortBindings(v)
		}
		if v, ok := a["notes"].(string); ok {
			u.SetNotes(v)
		}
		if v, ok := decode[[]gid.ID](a, "operatorIds"); ok {
			u.ClearOperators().AddOperatorIDs(v...)
		}
		if v, ok := decode[[]schematype.ChecklistItem](a, "checklist"); ok {
			u.SetChecklist(v)
		}
		if v, ok := a["mailServerFqdn"].(bool); ok {
			u.SetMailServerFqdn(v)
		}
	})
	if err != nil {
		return nil, err
	}
	if v, ok := decode[[]VolumeMountInput](a, "volumes"); ok {
		err := o.run.Locks.Fenced(ctx, o.run.Lease, task.AppKey(o.app.ID), func(ctx context.Context) error {
			db := ent.FromContext(ctx)
			if _, err := db.VolumeMount.Delete().Where(volumemount.HasAppWith(entapp.ID(o.app.ID))).Exec(ctx); err != nil {
				return err
			}
			for _, m := range v {
				if err := db.VolumeMount.Create().SetAppID(o.app.ID).SetVolumeID(m.VolumeID).
					SetTarget(m.Target).SetReadOnly(m.ReadOnly).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, o.fail(ctx, entapp.InstallationStateError, "CONFIGURE_FAILED", err)
		}
	}
	// Limits change live: the engine then adopts the container as it is,
	// while any other change recreates it.
	if c, err := h.engine.Find(ctx, o.app.ID.String()); err == nil {
		o.progress(15, "update limits")
		err := h.engine.UpdateResources(ctx, c.ID, o.app.CPUQuota, o.app.MemoryLimit)
		if err != nil && !errors.Is(err, docker.ErrNotLive) {
			return nil, o.fail(ctx, entapp.InstallationStateError, "CONFIGURE_FAILED", err)
		}
	}
	if o.app.RunState == entapp.RunStateRunning || o.app.ContainerID == "" {
		if err := h.deploy(ctx, o, 20); err != nil {
			return nil, o.fail(ctx, entapp.InstallationStateError, "CONFIGURE_FAILED", err)
		}
	}
	err = o.save(ctx, func(u *ent.AppUpdateOne) {
		u.SetInstallationState(entapp.InstallationStateInstalled).SetRunState(entapp.RunStateRunning).ClearError()
	})
	return nil, err
}

// runState applies the app's pending start/stop/restart commands, folded.
func (h *handlers) runState(ctx context.Context, run *task.Run) (map[string]any, error) {
	o, err := h.load(ctx, run)
	if err != nil {
		return nil, err
	}
	q := command.NewQueue(run.Client, nil)
	var effective []string
	_, err = q.Consume(ctx, o.app.ID.String(), func(ctx context.Context, cmds []*ent.Command) error {
		for _, c := range command.Effective(cmds) {
			effective = append(effective, c.Command)
		}
		want := entapp.RunStateRunning
		if slices.Contains(effective, command.Stop) {
			want = entapp.RunStateStopped
		}
		if len(effective) == 0 {
			return nil
		}
		// The desired state is written with the commands' consumption.
		return ent.FromContext(ctx).App.UpdateOne(o.app).SetRunState(want).Exec(ctx)
	})
	if err != nil {
		return nil, err
	}
	if len(effective) == 0 {
		_ = run.Logf("nothing to do: an earlier task consumed the app's commands")
		return map[string]any{"commands": 0}, nil
	}
	o.app, err = run.Client.App.Get(ctx, o.app.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range effective {
		switch c {
		case command.Stop:
			o.progress(30, "stop container")
			if o.app.ContainerID != "" {
				if err := h.engine.Stop(ctx, o.app.ContainerID, 10*time.Second); err != nil {
					return nil, o.fail(ctx, entapp.InstallationStateError, "STOP_FAILED", err)
				}
			}
		case command.Restart:
			o.progress(20, "stop container")
			if o.app.ContainerID != "" {
				if err := h.engine.Stop(ctx, o.app.ContainerID, 10*time.Second); err != nil {
					return nil, o.fail(ctx, entapp.InstallationStateError, "RESTART_FAILED", err)
				}
			}
			fallthrough
		case command.Start:
			if err := h.deploy(ctx, o, 40); err != nil {
				return nil, o.fail(ctx, entapp.InstallationStateError, "START_FAILED", err)
			}
		}
	}
	return map[string]any{"commands": effective}, nil
}

func (h *handlers) update(ctx context.Context, run *task.Run) (map[string]any, error) {
	o, err := h.load(ctx, run)
	if err != nil {
		return nil, err
	}
	image, _ := run.Task.Args["image"].(string)
	old := *o.app
	o.progress(5, "pre-update backup")
	_ = run.Logf("pre-update backup: no backup site is enabled for updates yet; skipping")
	if err := o.save(ctx, func(u *ent.AppUpdateOne) {
		u.SetInstallationState(entapp.InstallationStatePendingUpdate).ClearError()
	}); err != nil {
		return nil, err
	}
	o.app.Image = image
	if err := h.deploy(ctx, o, 20); err != nil {
		cause := err
		_ = run.Logf("new image %s does not run (%v); rolling back to %s", image, cause, old.Image)
		o.app = &old
		o.progress(70, "roll back")
		if err := h.deploy(ctx, o, 70); err != nil {
			return nil, o.fail(ctx, entapp.InstallationStateError, "ROLLBACK_FAILED", fmt.Errorf("update to %s: %v; rollback: %w", image, cause, err))
		}
		f := &schematype.Failure{Code: "UPDATE_FAILED", Step: "start new image",
			Message: fmt.Sprintf("%s did not run (%v); rolled back to %s", image, cause, old.Image)}
		if err := o.save(ctx, func(u *ent.AppUpdateOne) {
			u.SetImage(old.Image).SetInstallationState(entapp.InstallationStateInstalled).
				SetRunState(entapp.RunStateRunning).SetError(f)
		}); err != nil {
			return nil, err
		}
		return nil, f
	}
	err = o.save(ctx, func(u *ent.AppUpdateOne) {
		u.SetImage(image).SetInstallationState(entapp.InstallationStateInstalled).SetRunState(entapp.RunStateRunning).ClearError()
	})
	return map[string]any{"image": image}, err
}

func (h *handlers) uninstall(ctx context.Context, run *task.Run) (map[string]any, error) {
	o, err := h.load(ctx, run)
	if err != nil {
		return nil, err
	}
	if err := o.save(ctx, func(u *ent.AppUpdateOne) {
		u.SetInstallationState(entapp.InstallationStatePendingUninstall).ClearError()
	}); err != nil {
		return nil, err
	}
	o.progress(20, "remove container")
	if c, err := h.engine.Find(ctx, o.app.ID.String()); err == nil {
		if err := h.engine.Remove(ctx, c.ID); err != nil {
			return nil, o.fail(ctx, entapp.InstallationStateError, "UNINSTALL_FAILED", err)
		}
	} else if !errors.Is(err, docker.ErrNotFound) {
		return nil, o.fail(ctx, entapp.InstallationStateError, "UNINSTALL_FAILED", err)
	}
	o.progress(60, "remove data")
	if err := os.RemoveAll(DataDir(h.dataRoot, o.app.ID)); err != nil {
		return nil, o.fail(ctx, entapp.InstallationStateError, "UNINSTALL_FAILED", err)
	}
	_ = os.Remove(DataDir(h.dataRoot, o.app.ID) + "/..")
	o.progress(90, "forget app")
	err = run.Locks.Fenced(ctx, run.Lease, task.AppKey(o.app.ID), func(ctx context.Context) error {
		return ent.FromContext(ctx).App.DeleteOneID(o.app.ID).Exec(ctx)
	})
	return map[string]any{"location": o.app.Location}, err
}

func (h *handlers) exec(ctx context.Context, run *task.Run) (map[string]any, error) {
	id, _ := run.Task.Args["execRun"].(string)
	r, err := run.Client.ExecRun.Get(ctx, gid.ID(id))
	if err != nil {
		return nil, fmt.Errorf("load exec run %s: %w", id, err)
	}
	if r.State != execrun.StateStarting {
		return map[string]any{"execRun": id, "state": string(r.State)}, nil
	}
	o, err := h.load(ctx, run)
	if err != nil {
		return nil, err
	}
	if o.app.ContainerID != r.ContainerID {
		_ = run.Client.ExecRun.UpdateOne(r).SetState(execrun.StateLost).SetStderr("the container was recreated before the command ran").Exec(ctx)
		return nil, &schematype.Failure{Code: "CONTAINER_CHANGED", Message: "the app's container was recreated; run the command again"}
	}
	env := make([]string, 0, len(r.Env))
	for k, v := range r.Env {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	started := time.Now().UTC()
	if err := run.Client.ExecRun.UpdateOne(r).SetStartedAt(started).Exec(ctx); err != nil {
		return nil, err
	}
	res, err := h.engine.Exec(ctx, r.ContainerID, append([]string{r.Command}, r.Args...), env, r.OutputCap)
	if err != nil {
		// It may have run or not: at most once means it is not run again.
		_ = run.Client.ExecRun.UpdateOne(r).SetState(execrun.StateLost).SetStderr(err.Error()).SetFinishedAt(time.Now().UTC()).Exec(context.WithoutCancel(ctx))
		return nil, err
	}
	err = run.Client.ExecRun.UpdateOne(r).
		SetState(execrun.StateFinished).
		SetExitCode(res.ExitCode).
		SetStdout(res.Stdout).
		SetStderr(res.Stderr).
		SetTruncated(res.Truncated).
		SetStartedAt(res.StartedAt.UTC()).
		SetFinishedAt(res.FinishedAt.UTC()).
		Exec(context.WithoutCancel(ctx))
	return map[string]any{"execRun": id, "exitCode": res.ExitCode}, err
}

// decode reads the task argument key into T; false when it is absent or
// does not fit.
func decode[T any](args map[string]any, key string) (T, bool) {
	raw, ok := args[key]
	if !ok {
		var zero T
		return zero, false
	}
	v, err := task.DecodeArgs[T](raw)
	return v, err == nil
}
