package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"berth/app"
	"berth/auth"
	"berth/daemon"
	_ "berth/ent/runtime"
	"berth/frontend"
	"berth/storage"
)

func serve(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	listen := fs.String("listen", envOr("BERTH_LISTEN", "127.0.0.1:8080"), "address to serve HTTP on")
	maxTasks := fs.Int("max-tasks", envInt("BERTH_MAX_TASKS", 50), "how many tasks run at once")
	sftpListen := fs.String("sftp-listen", envOr("BERTH_SFTP_LISTEN", "127.0.0.1:2222"), `address of the file-access (SFTP) service; "off" disables it`)
	retention := fs.Duration("metrics-retention", envDuration("BERTH_METRICS_RETENTION", 7*24*time.Hour), "how long resource samples are kept")
	mailFQDN := fs.String("mail-fqdn", os.Getenv("BERTH_MAIL_FQDN"), "the mail server's full name, for apps with the mail-server-FQDN option")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	dataDir, err := filepath.Abs(dbf.data)
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, storage.Config{URL: dbf.db, DataDir: dataDir})
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("database ready", "db", db.Name)

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the berth binary for task subprocesses: %w", err)
	}
	host, _ := os.Hostname()
	sftp := *sftpListen
	if sftp == "off" {
		sftp = ""
	}
	d, err := daemon.New(daemon.Config{
		DB:               db,
		DataDir:          dataDir,
		Instance:         instance(),
		Host:             host,
		Exe:              exe,
		ChildEnv:         os.Environ(),
		MaxTasks:         *maxTasks,
		Reserved:         []int{listenPort(*listen), listenPort(sftp)},
		MailFQDN:         *mailFQDN,
		SFTPListen:       sftp,
		MetricsRetention: *retention,
		SPA:              frontend.Handler(),
		Log:              log,
	})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Engine.Ping(ctx); err != nil {
		log.Warn("the Docker engine is unavailable; app operations will fail until it is back", "err", err)
	}
	if err := ensureOwner(ctx, log, d.Auth, dataDir); err != nil {
		return err
	}
	if err := reapplyMailName(ctx, log, d.Apps, dataDir, *mailFQDN); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	log.Info("serving", "url", "http://"+ln.Addr().String(), "playground", "http://"+ln.Addr().String()+"/playground",
		"startup", time.Since(start).Round(time.Millisecond))
	err = d.Handler.Serve(ctx, ln, 15*time.Second)
	err = errors.Join(err, <-runErr)
	log.Info("stopped")
	return err
}

// listenPort is the port of a listen address, 0 when it has none.
func listenPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// reapplyMailName recreates the containers of apps that see the mail
// server's full name when that name changed since the last start. The last
// name is kept in <data>/mail-fqdn.
func reapplyMailName(ctx context.Context, log *slog.Logger, apps *app.Service, dataDir, fqdn string) error {
	path := filepath.Join(dataDir, "mail-fqdn")
	last, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if strings.TrimSpace(string(last)) == fqdn {
		return nil
	}
	if len(last) > 0 || err == nil {
		tasks, err := apps.ReapplyMailName(ctx)
		if err != nil {
			return fmt.Errorf("re-apply the mail server name: %w", err)
		}
		log.Info("mail server name changed; reconfiguring the apps that use it", "name", fqdn, "apps", len(tasks))
	}
	return os.WriteFile(path, []byte(fqdn+"\n"), 0o640)
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}

// ensureOwner creates the owner "admin" on the first start of an empty
// database, with BERTH_ADMIN_PASSWORD or else a generated password that is
// written to a file only root can read (never to the log).
func ensureOwner(ctx context.Context, log *slog.Logger, a *auth.Service, dataDir string) error {
	has, err := a.HasUsers(ctx)
	if err != nil || has {
		return err
	}
	password := os.Getenv("BERTH_ADMIN_PASSWORD")
	generated := password == ""
	if generated {
		var b [18]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		password = base64.RawURLEncoding.EncodeToString(b[:])
	}
	created, err := a.EnsureOwner(ctx, password)
	if err != nil {
		return fmt.Errorf("create owner admin (BERTH_ADMIN_PASSWORD): %w", err)
	}
	if !created {
		return nil
	}
	if !generated {
		log.Info("created owner admin with BERTH_ADMIN_PASSWORD")
		return nil
	}
	path := filepath.Join(dataDir, "initial-admin-password")
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return errors.Join(fmt.Errorf("write %s", path), err)
	}
	log.Warn("created owner admin with a generated password; change it after logging in", "password_file", path)
	return nil
}
