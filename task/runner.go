package task

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"berth/command"
	"berth/ent"
	"berth/ent/predicate"
	"berth/ent/schematype"
	enttask "berth/ent/task"
	"berth/gid"
	"berth/lock"
)

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Client *ent.Client
	Locks  *lock.Manager
	Queue  *command.Queue
	Feed   *Feed
	// Exe is the berth binary, run as `Exe task run ID` with Env.
	Exe string
	Env []string
	// LogDir holds the task logs, one file per task.
	LogDir string
	// Host names this machine; tasks are claimed as Host/<instance>.
	Host string
	// Limit is how many subprocesses run at once.
	Limit int
	// Grace is how long a subprocess has after SIGTERM before SIGKILL.
	Grace time.Duration
	// Tick is how often the runner looks for work without being woken.
	Tick time.Duration
	// Heartbeat is how often the runner marks its tasks alive; a task whose
	// runner missed three is taken for crashed by the other runners.
	Heartbeat time.Duration
	Now       func() time.Time
	Log       *slog.Logger
	// OnFinish, if set, is called after a task reached its final state and
	// its locks were freed; other packages settle what the task left (an
	// exec run that never recorded its result).
	OnFinish func(ctx context.Context, id gid.ID, state enttask.State)
}

// Runner dispatches pending tasks to subprocesses and supervises them.
type Runner struct {
	cfg      RunnerConfig
	instance string // this runner's claim on tasks: Host/<random>
	wake     chan struct{}
	spawns   chan spawnRequest

	mu       sync.Mutex
	children map[gid.ID]*child
	wg       sync.WaitGroup

	lastHeartbeat time.Time
}

// NewRunner returns a Runner; Run starts it.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Limit <= 0 {
		cfg.Limit = 50
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Runner{
		cfg:      cfg,
		instance: cfg.Host + "/" + strings.ToLower(gid.New("r").String()[2:12]),
		wake:     make(chan struct{}, 1),
		spawns:   make(chan spawnRequest),
		children: map[gid.ID]*child{},
	}
}

// Wake makes the runner look for work now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) now() time.Time { return r.cfg.Now().UTC() }

// Run reconciles what an earlier run left behind, then dispatches and
// supervises tasks until ctx ends. On the way out it stops its subprocesses.
func (r *Runner) Run(ctx context.Context) error {
	if err := os.MkdirAll(r.cfg.LogDir, 0o750); err != nil {
		return fmt.Errorf("task log directory: %w", err)
	}
	if err := r.Reconcile(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before it got going: nothing to report
		}
		return err
	}
	spawnCtx, stopSpawner := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSpawner()
	go r.spawner(spawnCtx)
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		r.tick(ctx)
		select {
		case <-ctx.Done():
			r.shutdown()
			return nil
		case <-r.wake:
		case <-t.C:
		}
	}
}

func (r *Runner) tick(ctx context.Context) {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"commands", r.consumeCommands},
		{"deadlines", r.enforceDeadlines},
		{"dispatch", r.dispatch},
		{"heartbeat", r.heartbeat},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Log.Warn("task runner", "step", s.name, "err", err)
		}
	}
}

// dispatch starts the pending tasks that may start: tasks sharing a lock
// key start in order of creation; among the rest, higher priority first,
// as long as there are free slots. Every task left waiting says why.
func (r *Runner) dispatch(ctx context.Context) error {
	active, err := r.cfg.Client.Task.Query().
		Where(enttask.StateIn(ActiveStates...)).
		Order(enttask.ByCreatedAt(), enttask.ByID()).
		All(ctx)
	if err != nil {
		return fmt.Errorf("list active tasks: %w", err)
	}
	firstHolder := map[string]*ent.Task{}
	var candidates []*ent.Task
	blocked := map[gid.ID]string{}
	for _, t := range active {
		var behind *ent.Task
		var on string
		for _, k := range t.LockKeys {
			switch h, ok := firstHolder[k]; {
			case !ok:
				firstHolder[k] = t
			case behind == nil:
				behind, on = h, k
			}
		}
		if t.State != enttask.StatePending || t.Host != "" {
			continue
		}
		if behind != nil {
			blocked[t.ID] = fmt.Sprintf("queued behind %s (%s) for %s", behind.ID, behind.Type, on)
			continue
		}
		candidates = append(candidates, t)
	}
	slices.SortStableFunc(candidates, func(a, b *ent.Task) int { return b.Priority - a.Priority })

	r.mu.Lock()
	free := r.cfg.Limit - len(r.children)
	r.mu.Unlock()
	for _, t := range candidates {
		if free <= 0 {
			blocked[t.ID] = fmt.Sprintf("queued: all %d task slots busy", r.cfg.Limit)
			continue
		}
		started, err := r.start(ctx, t)
		if err != nil {
			return err
		}
		if started {
			free--
		}
	}
	for _, t := range active {
		if msg, ok := blocked[t.ID]; ok && t.Message != msg {
			err := r.cfg.Client.Task.UpdateOneID(t.ID).
				Where(enttask.StateEQ(enttask.StatePending), enttask.HostIsNil()).
				SetMessage(truncate(msg)).
				Exec(ctx)
			if err != nil && !ent.IsNotFound(err) {
				return fmt.Errorf("set queue message of %s: %w", t.ID, err)
			}
		}
	}
	return nil
}

// start claims t for this runner and starts its subprocess. It reports
// false when another runner claimed it first.
func (r *Runner) start(ctx context.Context, t *ent.Task) (bool, error) {
	err := r.cfg.Client.Task.UpdateOneID(t.ID).
		Where(enttask.StateEQ(enttask.StatePending), enttask.HostIsNil()).
		SetHost(r.instance).
		SetMessage("starting").
		Exec(ctx)
	if ent.IsNotFound(err) {
		return false, nil // another runner claimed it, or it was cancelled
	}
	if err != nil {
		return false, err
	}
	c, err := r.spawn(t)
	if err != nil {
		r.finishTask(ctx, t.ID, enttask.StateFailed, failure(CodeFailed, "start subprocess: %v", err), nil, 0)
		return true, nil
	}
	r.mu.Lock()
	r.children[t.ID] = c
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.supervise(context.WithoutCancel(ctx), c)
	}()
	return true, nil
}

// child is a running subprocess.
type child struct {
	task     *ent.Task
	cmd      *exec.Cmd
	stdout   io.ReadCloser
	stderr   io.ReadCloser
	log      *os.File
	deadline time.Time

	mu       sync.Mutex
	stopping *schematype.Failure // why the runner stopped it, if it did
	outcome  *message            // the done or failed message, if any
	lines    int
	killer   *time.Timer
}

type spawnRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

// spawner starts subprocesses from one OS thread that never exits, because
// Pdeathsig fires when the thread that forked the child exits, not only
// when the process does.
func (r *Runner) spawner(ctx context.Context) {
	runtime.LockOSThread()
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-r.spawns:
			req.reply <- req.cmd.Start()
		}
	}
}

func (r *Runner) spawn(t *ent.Task) (*child, error) {
	logFile, err := os.OpenFile(LogPath(r.cfg.LogDir, t.ID), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open task log: %w", err)
	}
	cmd := exec.Command(r.cfg.Exe, "task", "run", t.ID.String())
	cmd.Env = r.cfg.Env
	// Own process group: cancelling kills the task's own children too, and
	// a signal to the server's group does not reach tasks. Pdeathsig: a
	// task dies with the server rather than run on unsupervised.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &child{task: t, cmd: cmd, log: logFile}
	if t.Deadline != nil {
		c.deadline = *t.Deadline
	}
	if c.stdout, err = cmd.StdoutPipe(); err == nil {
		c.stderr, err = cmd.StderrPipe()
	}
	if err != nil {
		logFile.Close()
		return nil, err
	}
	reply := make(chan error, 1)
	r.spawns <- spawnRequest{cmd: cmd, reply: reply}
	if err := <-reply; err != nil {
		logFile.Close()
		return nil, err
	}
	return c, nil
}

// supervise records what the subprocess reports until it exits, then
// finishes the task.
func (r *Runner) supervise(ctx context.Context, c *child) {
	id := c.task.ID
	pid := c.cmd.Process.Pid
	if err := r.cfg.Client.Task.UpdateOneID(id).SetPid(pid).Exec(ctx); err != nil {
		r.cfg.Log.Warn("record task pid", "task", id, "err", err)
	}
	var readers sync.WaitGroup
	readers.Go(func() { r.readMessages(ctx, c) })
	readers.Go(func() {
		sc := bufio.NewScanner(c.stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			r.appendLog(c, sc.Text())
		}
	})
	readers.Wait()
	waitErr := c.cmd.Wait()
	c.log.Close()

	c.mu.Lock()
	if c.killer != nil {
		c.killer.Stop()
	}
	stopping, outcome, lines := c.stopping, c.outcome, c.lines
	c.mu.Unlock()

	var (
		state  enttask.State
		fail   *schematype.Failure
		result map[string]any
	)
	switch {
	case stopping != nil && stopping.Code == CodeCancelled:
		state, fail = enttask.StateCancelled, stopping
	case stopping != nil:
		state, fail = enttask.StateFailed, stopping
	case outcome != nil && outcome.Kind == kindDone && waitErr == nil:
		state, result = enttask.StateSucceeded, outcome.Result
	case outcome != nil && outcome.Kind == kindFailed:
		state, fail = enttask.StateFailed, outcome.Error
	default:
		state, fail = enttask.StateCrashed, failure(CodeCrashed, "subprocess exited without a result: %s", exitDescription(waitErr))
	}
	r.finishTask(ctx, id, state, fail, result, lines)
	r.mu.Lock()
	delete(r.children, id)
	r.mu.Unlock()
	r.Wake() // a slot is free, and tasks may be queued behind this one
}

func exitDescription(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
		}
		return "exit status " + strconv.Itoa(ee.ExitCode())
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// finishTask writes a task's final state and frees whatever locks its
// subprocess still held: after a crash, at once rather than at lease expiry.
func (r *Runner) finishTask(ctx context.Context, id gid.ID, state enttask.State, fail *schematype.Failure, result map[string]any, lines int) {
	upd := r.cfg.Client.Task.UpdateOneID(id).
		Where(enttask.StateIn(ActiveStates...)).
		SetState(state).
		SetFinishedAt(r.now()).
		SetResult(result)
	if lines > 0 {
		upd.SetLogLines(lines)
	}
	if fail != nil {
		upd.SetError(fail).SetMessage(truncate(fail.Message))
	} else {
		upd.SetPercent(100).SetMessage("done")
	}
	if err := upd.Exec(ctx); err != nil && !ent.IsNotFound(err) {
		r.cfg.Log.Error("finish task", "task", id, "state", state, "err", err)
	}
	if n, err := r.cfg.Locks.ReleaseHolder(ctx, id.String()); err != nil {
		r.cfg.Log.Error("release locks of finished task", "task", id, "err", err)
	} else if n > 0 && state != enttask.StateSucceeded {
		r.cfg.Log.Info("released locks of finished task", "task", id, "state", state, "locks", n)
	}
	if r.cfg.OnFinish != nil {
		r.cfg.OnFinish(ctx, id, state)
	}
}

func (r *Runner) readMessages(ctx context.Context, c *child) {
	sc := bufio.NewScanner(c.stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			r.appendLog(c, sc.Text()) // stray output: keep it in the log
			continue
		}
		if err := r.apply(ctx, c, m); err != nil {
			r.cfg.Log.Warn("record task report", "task", c.task.ID, "kind", m.Kind, "err", err)
		}
	}
}

// apply records one report of the subprocess.
func (r *Runner) apply(ctx context.Context, c *child, m message) error {
	// UpdateOne returns the written task, which the feed publishes as is.
	upd := r.cfg.Client.Task.UpdateOneID(c.task.ID).Where(enttask.StateIn(ActiveStates...))
	switch m.Kind {
	case kindLog:
		r.appendLog(c, m.Text)
		return nil
	case kindDone, kindFailed:
		c.mu.Lock()
		c.outcome = &m
		c.mu.Unlock()
		if m.Error != nil {
			r.appendLog(c, "failed: "+m.Error.Message)
		}
		return nil
	case kindState:
		st := enttask.State(m.State)
		if st != enttask.StateWaiting && st != enttask.StateRunning {
			return fmt.Errorf("unknown state %q", m.State)
		}
		upd.SetState(st).SetMessage(truncate(m.Text))
		if st == enttask.StateRunning {
			upd.SetStartedAt(r.now())
		}
		r.appendLog(c, m.Text)
	case kindProgress:
		if m.Percent != nil {
			upd.SetPercent(*m.Percent)
		}
		upd.SetMessage(truncate(m.Text))
	default:
		return fmt.Errorf("unknown report %q", m.Kind)
	}
	c.mu.Lock()
	lines := c.lines
	c.mu.Unlock()
	err := upd.SetLogLines(lines).Exec(ctx)
	if ent.IsNotFound(err) {
		return nil // finished meanwhile (cancelled, timed out)
	}
	return err
}

func (r *Runner) appendLog(c *child, text string) {
	c.mu.Lock()
	c.lines++
	n := c.lines
	_, err := fmt.Fprintln(c.log, text)
	c.mu.Unlock()
	if err != nil {
		r.cfg.Log.Warn("write task log", "task", c.task.ID, "err", err)
	}
	r.cfg.Feed.Logs.Publish(LogLine{Task: c.task.ID, Line: n, Text: text})
}

// stop asks a subprocess to stop: SIGTERM to its process group, SIGKILL
// after the grace period. why becomes the task's error.
func (r *Runner) stop(c *child, why *schematype.Failure) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping != nil {
		return
	}
	c.stopping = why
	pgid := c.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	c.killer = time.AfterFunc(r.cfg.Grace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
}

// consumeCommands applies the pending commands of the tasks this runner is
// the writer of: its own subprocesses, unclaimed pending tasks, and
// finished tasks (where a command has nothing left to do).
func (r *Runner) consumeCommands(ctx context.Context) error {
	targets, err := r.cfg.Queue.PendingTargets(ctx)
	if err != nil {
		return fmt.Errorf("pending commands: %w", err)
	}
	for _, target := range targets {
		id := gid.ID(target)
		if id.Prefix() != "task" {
			continue
		}
		r.mu.Lock()
		c := r.children[id]
		r.mu.Unlock()
		_, err := r.cfg.Queue.Consume(ctx, target, func(ctx context.Context, cmds []*ent.Command) error {
			return r.applyCommands(ctx, id, c, cmds)
		})
		if err != nil && !errors.Is(err, errNotOurs) {
			return fmt.Errorf("commands of %s: %w", target, err)
		}
	}
	return nil
}

var errNotOurs = errors.New("task belongs to another runner")

func (r *Runner) applyCommands(ctx context.Context, id gid.ID, c *child, cmds []*ent.Command) error {
	var abort *ent.Command
	for _, cmd := range command.Effective(cmds) {
		if cmd.Command == command.Abort {
			abort = cmd
		}
	}
	client := ent.FromContext(ctx)
	if c != nil {
		if abort != nil {
			why := failure(CodeCancelled, "cancelled by %s", abort.Author)
			if err := client.Task.UpdateOneID(id).SetMessage(truncate("cancelling: " + why.Message)).Exec(ctx); err != nil {
				return err
			}
			r.stop(c, why)
		}
		return nil
	}
	t, err := client.Task.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil // nothing to act on; consume
	}
	if err != nil {
		return err
	}
	switch {
	case Terminal(t.State):
		return nil
	case t.Host != "":
		return errNotOurs
	case abort != nil:
		why := failure(CodeCancelled, "cancelled by %s before it started", abort.Author)
		n, err := client.Task.Update().
			Where(enttask.ID(id), enttask.StateEQ(enttask.StatePending), enttask.HostIsNil()).
			SetState(enttask.StateCancelled).
			SetError(why).
			SetMessage(truncate(why.Message)).
			SetFinishedAt(r.now()).
			Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return errNotOurs // claimed meanwhile: its runner will consume
		}
	}
	return nil
}

// enforceDeadlines stops this runner's subprocesses that ran past their
// deadline and fails pending tasks that were not started before theirs.
func (r *Runner) enforceDeadlines(ctx context.Context) error {
	now := r.now()
	r.mu.Lock()
	var late []*child
	for _, c := range r.children {
		if !c.deadline.IsZero() && now.After(c.deadline) {
			late = append(late, c)
		}
	}
	r.mu.Unlock()
	for _, c := range late {
		r.stop(c, failure(CodeTimeout, "ran past its deadline %s", c.deadline.Format(time.RFC3339)))
	}
	overdue := []predicate.Task{enttask.StateEQ(enttask.StatePending), enttask.HostIsNil(), enttask.DeadlineLT(now)}
	// Look before writing: a write on every tick would queue behind, and
	// hold up, SQLite's single writer.
	if late, err := r.cfg.Client.Task.Query().Where(overdue...).Exist(ctx); err != nil || !late {
		return err
	}
	why := failure(CodeTimeout, "not started before its deadline")
	return r.cfg.Client.Task.Update().
		Where(overdue...).
		SetState(enttask.StateFailed).
		SetError(why).
		SetMessage(why.Message).
		SetFinishedAt(now).
		Exec(ctx)
}

// heartbeat marks this runner's tasks alive, and takes the tasks of runners
// that stopped marking theirs for crashed, freeing their locks.
func (r *Runner) heartbeat(ctx context.Context) error {
	now := r.now()
	if now.Sub(r.lastHeartbeat) < r.cfg.Heartbeat {
		return nil
	}
	r.lastHeartbeat = now
	err := r.cfg.Client.Task.Update().
		Where(enttask.Host(r.instance), enttask.StateIn(ActiveStates...)).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	stale, err := r.cfg.Client.Task.Query().
		Where(enttask.HostNotNil(), enttask.HostNEQ(r.instance), enttask.StateIn(ActiveStates...),
			enttask.UpdatedAtLT(now.Add(-3*r.cfg.Heartbeat))).
		All(ctx)
	if err != nil {
		return fmt.Errorf("find stale tasks: %w", err)
	}
	for _, t := range stale {
		r.finishTask(ctx, t.ID, enttask.StateCrashed, failure(CodeCrashed, "its runner %s stopped responding", t.Host), nil, 0)
	}
	return nil
}

// Reconcile settles the tasks an earlier berth on this host left active:
// their subprocesses died with it (Pdeathsig) or are someone else's. Tasks
// whose process is gone become crashed and their locks are freed.
func (r *Runner) Reconcile(ctx context.Context) error {
	tasks, err := r.cfg.Client.Task.Query().
		Where(enttask.HostHasPrefix(r.cfg.Host+"/"), enttask.StateIn(ActiveStates...)).
		All(ctx)
	if err != nil {
		return fmt.Errorf("reconcile tasks: %w", err)
	}
	for _, t := range tasks {
		if t.Pid != nil && processRuns(*t.Pid, t.ID) {
			continue // supervised by another berth on this host
		}
		r.finishTask(ctx, t.ID, enttask.StateCrashed, failure(CodeCrashed, "its process is gone (berth restarted)"), nil, 0)
		r.cfg.Log.Info("reconciled task", "task", t.ID, "state", "crashed")
	}
	return nil
}

// processRuns reports whether pid is alive and is the subprocess of task id.
func processRuns(pid int, id gid.ID) bool {
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return err == nil && strings.Contains(string(cmdline), id.String())
}

// shutdown stops every subprocess and waits for their tasks to be written.
func (r *Runner) shutdown() {
	r.mu.Lock()
	for _, c := range r.children {
		r.stop(c, failure(CodeCancelled, "berth is shutting down"))
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// LogPath is the file of a task's log.
func LogPath(dir string, id gid.ID) string { return filepath.Join(dir, id.String()+".log") }
