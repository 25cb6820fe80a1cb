// Package app owns the apps: it validates what users ask of them, turns
// each operation into a task holding the app's lock, and runs those tasks
// against the Docker engine (handlers.go). Start, stop and restart go
// through the app's command queue, so concurrent requests fold instead of
// racing.
package app

import (
	"context"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/go-sql-driver/mysql"

	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"berth/command"
	"berth/ent"
	entapp "berth/ent/app"
	"berth/ent/execrun"
	"berth/ent/portclaim"
	"berth/ent/schematype"
	enttask "berth/ent/task"
	"berth/fault"
	"berth/gid"
	"berth/task"
)

// CodeDockerUnavailable is the error code of app operations when the
// engine cannot be reached.
const CodeDockerUnavailable = "DOCKER_UNAVAILABLE"

// Images tells whether an image is available to the engine.
type Images interface {
	ImageExists(ctx context.Context, ref string) (bool, error)
}

// Service takes app operations and starts their tasks.
type Service struct {
	client   *ent.Client
	tasks    *task.Service
	queue    *command.Queue
	images   Images
	reserved []int
	// unavailable tells whether an engine error means it is unreachable.
	unavailable func(error) bool
}

// Config configures a Service.
type Config struct {
	Client *ent.Client
	Tasks  *task.Service
	Queue  *command.Queue
	Images Images
	// Reserved are host ports apps may not take (berth's own).
	Reserved    []int
	Unavailable func(error) bool
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.Unavailable == nil {
		cfg.Unavailable = func(error) bool { return false }
	}
	return &Service{client: cfg.Client, tasks: cfg.Tasks, queue: cfg.Queue, images: cfg.Images,
		reserved: cfg.Reserved, unavailable: cfg.Unavailable}
}

func (s *Service) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return s.client
}

// DataDir is where an app's data lives on the host.
func DataDir(dataRoot string, id gid.ID) string {
	return filepath.Join(dataRoot, "apps", id.String(), "data")
}

// InstallInput is what installApp takes.
type InstallInput struct {
	Image          string
	Location       string
	Ports          []PortInput
	CPUQuota       *int
	MemoryLimit    *int64
	Env            map[string]string
	Notes          string
	OperatorIDs    []gid.ID
	MailServerFQDN bool
}

func (s *Service) checkImage(ctx context.Context, image string) error {
	if err := validateImage(image); err != nil {
		return err
	}
	ok, err := s.images.ImageExists(ctx, image)
	if err != nil {
		if s.unavailable(err) {
			return &fault.Error{Code: CodeDockerUnavailable, Message: "the Docker engine is unavailable: " + err.Error()}
		}
		return fmt.Errorf("look up image %s: %w", image, err)
	}
	if !ok {
		return fault.Input("image", "image %q is not available to the Docker engine", image)
	}
	return nil
}

// Install validates in, stores the app and starts its install task.
func (s *Service) Install(ctx context.Context, in InstallInput, by *gid.ID) (*ent.Task, error) {
	quota, memory := 100, int64(256<<20)
	if in.CPUQuota != nil {
		quota = *in.CPUQuota
	}
	if in.MemoryLimit != nil {
		memory = *in.MemoryLimit
	}
	if err := errors.Join(validateLocation(in.Location), validateCPUQuota(quota), validateMemory(memory), validateEnv(in.Env)); err != nil {
		return nil, firstFault(err)
	}
	bindings, err := portBindings(in.Ports, in.Env, s.reserved)
	if err != nil {
		return nil, err
	}
	if err := s.checkImage(ctx, in.Image); err != nil {
		return nil, err
	}
	db := s.db(ctx)
	if taken, err := db.App.Query().Where(entapp.Location(in.Location)).Exist(ctx); err != nil {
		return nil, err
	} else if taken {
		return nil, fault.Conflict("location", "location %q is taken by another app", in.Location)
	}
	a, err := db.App.Create().
		SetLocation(in.Location).
		SetImage(in.Image).
		SetPortBindings(bindings).
		SetCPUQuota(quota).
		SetMemoryLimit(memory).
		SetEnv(in.Env).
		SetNotes(in.Notes).
		SetMailServerFqdn(in.MailServerFQDN).
		AddOperatorIDs(in.OperatorIDs...).
		Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, fault.Conflict("location", "location %q is taken by another app", in.Location)
	}
	if err != nil {
		return nil, fmt.Errorf("store app: %w", err)
	}
	if err := s.claimPorts(ctx, a.ID, bindings, false); err != nil {
		return nil, err
	}
	return s.tasks.Create(ctx, task.Spec{Type: enttask.TypeInstall, App: &a.ID, Priority: task.PriorityUser, CreatedBy: by})
}

// claimPorts makes the app's port claims match bindings. A port another
// app holds fails with CONFLICT on ports, also when both ask at once.
func (s *Service) claimPorts(ctx context.Context, appID gid.ID, bindings schematype.PortBindings, replace bool) error {
	db := s.db(ctx)
	if replace {
		if _, err := db.PortClaim.Delete().Where(portclaim.HasAppWith(entapp.ID(appID))).Exec(ctx); err != nil {
			return fmt.Errorf("release old port claims: %w", err)
		}
	}
	var creates []*ent.PortClaimCreate
	for env, b := range bindings {
		for port := b.HostPort; port < b.HostPort+b.Count; port++ {
			creates = append(creates, db.PortClaim.Create().
				SetAppID(appID).SetPort(port).SetProto(portclaim.Proto(b.Type)).SetEnvVar(env))
		}
	}
	for _, c := range creates {
		if _, err := c.Save(ctx); err != nil {
			port, _ := c.Mutation().Port()
			var myErr *mysql.MySQLError
			if errors.As(err, &myErr) && myErr.Number == 1213 {
				// InnoDB resolves requests racing for one unique key by
				// deadlock: another request is claiming the same port.
				proto, _ := c.Mutation().Proto()
				return fault.Conflict("ports", "port %d/%s is being claimed by another request", port, proto)
			}
			if ent.IsConstraintError(err) {
				proto, _ := c.Mutation().Proto()
				holder, _ := db.PortClaim.Query().Where(portclaim.Port(port), portclaim.ProtoEQ(proto)).QueryApp().Only(ctx)
				if holder != nil {
					return fault.Conflict("ports", "port %d/%s is used by app %s", port, proto, holder.Location)
				}
				return fault.Conflict("ports", "port %d/%s is used by another app", port, proto)
			}
			return fmt.Errorf("claim ports: %w", err)
		}
	}
	return nil
}

// ConfigureInput changes an app; nil fields stay as they are.
type ConfigureInput struct {
	Ports          *[]PortInput
	CPUQuota       *int
	MemoryLimit    *int64
	Env            *map[string]string
	Notes          *string
	OperatorIDs    *[]gid.ID
	Checklist      *[]schematype.ChecklistItem
	MailServerFQDN *bool
	Volumes        *[]VolumeMountInput
}

// Configure validates in, claims changed ports and starts a configure task
// that applies the rest. Configuring with nothing changed repairs an app in
// error: the task recreates what is missing.
func (s *Service) Configure(ctx context.Context, id gid.ID, in ConfigureInput, by *gid.ID) (*ent.Task, error) {
	a, err := s.db(ctx).App.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	args := map[string]any{}
	if in.CPUQuota != nil {
		if err := validateCPUQuota(*in.CPUQuota); err != nil {
			return nil, err
		}
		args["cpuQuota"] = *in.CPUQuota
	}
	if in.MemoryLimit != nil {
		if err := validateMemory(*in.MemoryLimit); err != nil {
			return nil, err
		}
		args["memoryLimit"] = *in.MemoryLimit
	}
	env := a.Env
	if in.Env != nil {
		if err := validateEnv(*in.Env); err != nil {
			return nil, err
		}
		env = *in.Env
		args["env"] = env
	}
	if in.Ports != nil {
		bindings, err := portBindings(*in.Ports, env, s.reserved)
		if err != nil {
			return nil, err
		}
		if err := s.claimPorts(ctx, id, bindings, true); err != nil {
			return nil, err
		}
		args["portBindings"] = bindings
	}
	if in.Notes != nil {
		args["notes"] = *in.Notes
	}
	if in.OperatorIDs != nil {
		args["operatorIds"] = *in.OperatorIDs
	}
	if in.Checklist != nil {
		args["checklist"] = *in.Checklist
	}
	if in.MailServerFQDN != nil {
		args["mailServerFqdn"] = *in.MailServerFQDN
	}
	if in.Volumes != nil {
		mounts, err := s.validateMounts(ctx, *in.Volumes)
		if err != nil {
			return nil, err
		}
		args["volumes"] = mounts
	}
	return s.tasks.Create(ctx, task.Spec{Type: enttask.TypeConfigure, App: &id, Args: args, Priority: task.PriorityUser, CreatedBy: by})
}

// SetRunState asks for an app to start, stop or restart: it enqueues the
// command and a task that, holding the app's lock, consumes the app's
// commands (folded: of a stop then a start only the start counts).
func (s *Service) SetRunState(ctx context.Context, id gid.ID, cmd, author string, by *gid.ID) (*ent.Task, error) {
	types := map[string]enttask.Type{command.Start: enttask.TypeStart, command.Stop: enttask.TypeStop, command.Restart: enttask.TypeRestart}
	if _, err := s.db(ctx).App.Get(ctx, id); err != nil {
		return nil, err
	}
	if _, err := s.queue.Enqueue(ctx, author, id.String(), cmd, nil); err != nil {
		return nil, err
	}
	return s.tasks.Create(ctx, task.Spec{Type: types[cmd], App: &id, Priority: task.PriorityUser, CreatedBy: by})
}

// Update switches an app to another image, rolling back if it does not run.
func (s *Service) Update(ctx context.Context, id gid.ID, image string, by *gid.ID) (*ent.Task, error) {
	if _, err := s.db(ctx).App.Get(ctx, id); err != nil {
		return nil, err
	}
	if err := s.checkImage(ctx, image); err != nil {
		return nil, err
	}
	return s.tasks.Create(ctx, task.Spec{Type: enttask.TypeUpdate, App: &id, Args: map[string]any{"image": image},
		Priority: task.PriorityUser, CreatedBy: by})
}

// Uninstall removes an app, its container and its data.
func (s *Service) Uninstall(ctx context.Context, id gid.ID, archive bool, by *gid.ID) (*ent.Task, error) {
	if _, err := s.db(ctx).App.Get(ctx, id); err != nil {
		return nil, err
	}
	if archive {
		// Archiving keeps a backup of the app; until berth makes backups,
		// agreeing to archive would delete the data without one.
		return nil, fault.Input("archive", "archiving needs app backups, which this berth cannot make yet; uninstall without archive after saving the data yourself")
	}
	return s.tasks.Create(ctx, task.Spec{Type: enttask.TypeUninstall, App: &id,
		Priority: task.PriorityUser, CreatedBy: by})
}

// ExecInput is a command to run in an app's container.
type ExecInput struct {
	Name    string
	Command string
	Args    []string
	Env     map[string]string
	// Once runs the command at most once per container instance: a later
	// request for the same name gets the stored result.
	Once bool
	// Force runs a once-command again.
	Force bool
}

var varPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// substitute replaces ${VAR} by the app's environment; unknown ones stay.
func substitute(s string, env map[string]string) string {
	return varPattern.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// OutputCap is the most bytes of stdout and of stderr an ExecRun keeps.
const OutputCap = 64 << 10

// Exec records a run of in.Command in the app's container and starts a task
// for it. For a once-command already run in this container instance it
// returns the stored run and starts nothing. The run is committed before
// the command starts, so that at most once holds across crashes.
func (s *Service) Exec(ctx context.Context, appID gid.ID, in ExecInput, by *gid.ID) (*ent.ExecRun, error) {
	if in.Name == "" || len(in.Name) > 128 {
		return nil, fault.Input("name", "must be 1-128 characters")
	}
	if strings.TrimSpace(in.Command) == "" {
		return nil, fault.Input("command", "must not be empty")
	}
	if err := validateEnv(in.Env); err != nil {
		return nil, err
	}
	db := s.db(ctx)
	a, err := db.App.Get(ctx, appID)
	if err != nil {
		return nil, err
	}
	if a.ContainerID == "" || a.RunState != entapp.RunStateRunning {
		return nil, fault.Conflict("appID", "app %s is not running", a.Location)
	}
	onceKey := a.ContainerID + "/" + in.Name
	if in.Once {
		// A plain read: a locking one would take gap locks on MySQL, and
		// concurrent requests inserting into that gap deadlock.
		prev, err := db.ExecRun.Query().Where(execrun.OnceKey(onceKey)).Only(ctx)
		switch {
		case err == nil && !in.Force:
			return prev, nil
		case err == nil:
			// Forced: the old run gives up its claim on the name.
			if err := db.ExecRun.UpdateOne(prev).ClearOnceKey().Exec(ctx); err != nil {
				return nil, err
			}
		case !ent.IsNotFound(err):
			return nil, err
		}
	}
	env := map[string]string{}
	for k, v := range a.Env {
		env[k] = v
	}
	for k, v := range in.Env {
		env[k] = substitute(v, a.Env)
	}
	args := make([]string, len(in.Args))
	for i, arg := range in.Args {
		args[i] = substitute(arg, env)
	}
	create := db.ExecRun.Create().
		SetAppID(appID).
		SetContainerID(a.ContainerID).
		SetName(in.Name).
		SetOnce(in.Once).
		SetCommand(substitute(in.Command, env)).
		SetArgs(args).
		SetEnv(env).
		SetOutputCap(OutputCap)
	if in.Once {
		create.SetOnceKey(onceKey)
	}
	run, err := create.Save(ctx)
	if ent.IsConstraintError(err) && in.Once && !in.Force {
		// Another request for the name won the race: its run is the run.
		return db.ExecRun.Query().Where(execrun.OnceKey(onceKey)).Modify(lockShared).Only(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("record exec run: %w", err)
	}
	t, err := s.tasks.Create(ctx, task.Spec{Type: enttask.TypeExec, App: &appID, Args: map[string]any{"execRun": run.ID.String()},
		Priority: task.PriorityUser, CreatedBy: by})
	if err != nil {
		return nil, err
	}
	return db.ExecRun.UpdateOne(run).SetTask(t).Save(ctx)
}

// lockShared makes a read see the latest committed row on MySQL, whose
// repeatable-read snapshot would otherwise hide the run a concurrent
// request just committed (the one our insert collided with). A shared lock,
// as the failed insert already holds one: an exclusive one would deadlock
// with the other losers. SQLite has one writer at a time and no such clause.
func lockShared(s *sql.Selector) {
	if s.Dialect() == dialect.MySQL {
		// MariaDB knows only the older spelling of FOR SHARE.
		s.ForShare(sql.WithLockClause("LOCK IN SHARE MODE"))
	}
}

// ReapplyMailName starts a configure task for every app with the
// mail-server-FQDN option: their containers are recreated to see the mail
// server's new name. berth calls it when the name changed since its last
// start.
func (s *Service) ReapplyMailName(ctx context.Context) ([]*ent.Task, error) {
	ids, err := s.db(ctx).App.Query().
		Where(entapp.MailServerFqdn(true), entapp.InstallationStateNEQ(entapp.InstallationStatePendingInstall)).
		IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("apps using the mail server name: %w", err)
	}
	var tasks []*ent.Task
	for _, id := range ids {
		t, err := s.tasks.Create(ctx, task.Spec{Type: enttask.TypeConfigure, App: &id, Priority: task.PriorityScheduled})
		if err != nil {
			return tasks, err
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// MarkLost marks the exec run of a task that ended without recording its
// result as lost: it may or may not have run, and is never re-run by itself.
func MarkLost(ctx context.Context, client *ent.Client, taskID gid.ID) error {
	_, err := client.ExecRun.Update().
		Where(execrun.HasTaskWith(enttask.ID(taskID)), execrun.StateEQ(execrun.StateStarting)).
		SetState(execrun.StateLost).
		Save(ctx)
	return err
}

// firstFault returns the first fault of a joined error.
func firstFault(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if e != nil {
				return e
			}
		}
	}
	return err
}
