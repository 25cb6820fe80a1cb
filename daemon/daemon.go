// Package daemon assembles one running berth from its parts: the task
// runner and its feed, the app and auth services, the Docker engine, the
// built-in services and the HTTP handler. `berth serve` and the tests build
// berth through it, so that they test what runs.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth/app"
	"berth/auth"
	"berth/command"
	"berth/docker"
	enttask "berth/ent/task"
	"berth/fileaccess"
	"berth/gid"
	"berth/lock"
	"berth/metrics"
	"berth/server"
	"berth/service"
	"berth/storage"
	"berth/task"
)

// Config is what a berth is made of.
type Config struct {
	DB *storage.DB
	// DataDir holds task logs, app data and the SFTP host key.
	DataDir string
	// Instance labels the containers this berth owns on the engine.
	Instance string
	// Host names this machine for the task runner.
	Host string
	// Exe is the berth binary the runner starts as `Exe task run ID`, with
	// ChildEnv and the database and data directory added.
	Exe      string
	ChildEnv []string
	MaxTasks int
	// TaskGrace and TaskTick tune the runner; zero for its defaults.
	TaskGrace, TaskTick time.Duration
	// Reserved are host ports apps may not claim.
	Reserved []int
	// MailFQDN is the mail server's full name (BERTH_MAIL_FQDN).
	MailFQDN string
	// MetricsRetention is how long resource samples are kept; zero for the
	// collector's default (seven days).
	MetricsRetention time.Duration
	// SFTPListen is the file-access service's address; empty for none.
	SFTPListen  string
	AuthOptions []auth.Option
	SPA         http.Handler
	Log         *slog.Logger
}

// Daemon is an assembled berth; Run runs its background parts.
type Daemon struct {
	Handler  *server.Server
	Auth     *auth.Service
	Apps     *app.Service
	Engine   *docker.Client
	Metrics  *metrics.Collector
	Builtins *service.Manager
	Runner   *task.Runner
	Feed     *task.Feed
}

// New assembles a berth. It does not start anything.
func New(cfg Config) (*Daemon, error) {
	db, log := cfg.DB, cfg.Log
	engine, err := docker.New(cfg.Instance, log)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	feed := task.NewFeed(db.Client, log)
	queue := command.NewQueue(db.Client, nil)
	logDir := filepath.Join(cfg.DataDir, "tasks")
	runner := task.NewRunner(task.RunnerConfig{
		Client: db.Client,
		Locks:  lock.NewManager(db.Client, lock.WithLogger(log)),
		Queue:  queue,
		Feed:   feed,
		Exe:    cfg.Exe,
		Env: append(cfg.ChildEnv, "BERTH_DB="+db.Config.URL, "BERTH_DATA="+cfg.DataDir,
			"BERTH_INSTANCE="+cfg.Instance, "BERTH_MAIL_FQDN="+cfg.MailFQDN),
		LogDir: logDir,
		Host:   cfg.Host,
		Limit:  cfg.MaxTasks,
		Grace:  cfg.TaskGrace,
		Tick:   cfg.TaskTick,
		Log:    log,
		OnFinish: func(ctx context.Context, id gid.ID, _ enttask.State) {
			if err := app.MarkLost(ctx, db.Client, id); err != nil {
				log.Warn("mark exec runs of a finished task lost", "task", id, "err", err)
			}
		},
	})
	tasks := task.NewService(db.Client, nil, runner.Wake)
	apps := app.NewService(app.Config{
		Client:      db.Client,
		Tasks:       tasks,
		Queue:       queue,
		Images:      engine,
		Reserved:    cfg.Reserved,
		Unavailable: func(err error) bool { return errors.Is(err, docker.ErrUnavailable) },
	})
	collector, err := metrics.New(metrics.Config{Client: db.Client, Engine: engine,
		Retention: cfg.MetricsRetention, Log: log})
	if err != nil {
		return nil, err
	}
	svcs := []service.Service{service.New("metrics", collector.Run, nil)}
	if cfg.SFTPListen != "" {
		svcs = append(svcs, fileAccess(log, db, cfg.DataDir, cfg.SFTPListen))
	}
	builtins := service.NewManager(log, svcs...)
	authSvc := auth.NewService(db.Client, cfg.AuthOptions...)
	handler := server.New(server.Config{
		Client:     db.Client,
		Auth:       authSvc,
		Apps:       apps,
		Engine:     engine,
		Tasks:      tasks,
		Commands:   queue,
		Feed:       feed,
		TaskLogDir: logDir,
		Metrics:    collector,
		Collectors: []prometheus.Collector{collector},
		Builtins:   builtins,
		Log:        log,
		Ping:       db.SQL.PingContext,
		SPA:        cfg.SPA,
	})
	return &Daemon{Handler: handler, Auth: authSvc, Apps: apps, Engine: engine, Metrics: collector,
		Builtins: builtins, Runner: runner, Feed: feed}, nil
}

// Run runs the task runner, the change feed and the built-in services until
// ctx ends, then waits for them (the runner stops its subprocesses).
func (d *Daemon) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	runnerErr := make(chan error, 1)
	wg.Go(func() { runnerErr <- d.Runner.Run(ctx) })
	wg.Go(func() { d.Feed.Poll(ctx, 500*time.Millisecond) })
	d.Builtins.Start(ctx)
	wg.Wait()
	return <-runnerErr
}

// Close releases the engine client.
func (d *Daemon) Close() error { return d.Engine.Close() }

// Handlers returns the handlers of every task type berth runs, for the task
// subprocess: app operations on the engine labelled instance, with app data
// under dataDir, and the diagnostic task.
func Handlers(dataDir, instance, mailFQDN string, log *slog.Logger) (task.Handlers, error) {
	engine, err := docker.New(instance, log)
	if err != nil {
		return nil, err
	}
	h := app.Handlers(engine, dataDir, app.Mail{FQDN: mailFQDN, IP: mailIP()})
	h[enttask.TypeDiagnostic] = task.Diagnostic
	return h, nil
}

// mailIP is where apps reach the mail server: the engine's bridge unless
// BERTH_MAIL_IP says otherwise.
func mailIP() string {
	if ip := os.Getenv("BERTH_MAIL_IP"); ip != "" {
		return ip
	}
	return "172.17.0.1"
}

// fileAccess is the SFTP service over the parent directory of app data. A
// restart keeps its host key; a rebuild makes a new one.
func fileAccess(log *slog.Logger, db *storage.DB, dataDir, listen string) service.Service {
	keyPath := filepath.Join(dataDir, "sftp", "ssh_host_ed25519_key")
	run := func(ctx context.Context) error {
		fa, err := fileaccess.New(fileaccess.Config{DataRoot: dataDir, HostKeyPath: keyPath,
			Users: fileaccess.NewEntUsers(db.Client), Log: log.With("service", "fileaccess")})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", listen, err)
		}
		return fa.Serve(ctx, ln)
	}
	rebuild := func(context.Context) error {
		if err := os.Remove(keyPath); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	return service.New("fileaccess", run, rebuild)
}
