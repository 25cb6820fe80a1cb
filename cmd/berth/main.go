// Command berth is the control plane of a self-hosted app server. It only
// wires the packages together; see README.md for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `berth: the control plane of a self-hosted app server

Usage:
  berth serve   [--listen 127.0.0.1:8080] [--data ./data] [--db mysql://user:pass@tcp(host:port)/name] [--max-tasks 50]
  berth migrate [--data ./data] [--db ...] [--status]
  berth user add --username U --role owner|admin|user --password-stdin [--data ./data] [--db ...]
  berth task list|show ID|logs [-f] ID|cancel ID [--data ./data] [--db ...]

Flags fall back to BERTH_LISTEN, BERTH_DATA and BERTH_DB. On the first start of
an empty database, serve creates the owner "admin" with BERTH_ADMIN_PASSWORD
(or a generated password written to <data>/initial-admin-password).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	if err := run(ctx, log, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(1)
	}
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("BERTH_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

func run(ctx context.Context, log *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serve(ctx, log, args[1:])
	case "migrate":
		return migrate(ctx, args[1:], stdout)
	case "task":
		return taskCommand(ctx, args[1:], stdout)
	case "user":
		if len(args) > 1 && args[1] == "add" {
			return userAdd(ctx, args[2:], stdin, stdout)
		}
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// dbFlags are the flags of every command that opens the database.
type dbFlags struct {
	data string
	db   string
}

func (f *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", envOr("BERTH_DATA", "./data"), "data directory (the SQLite database, task logs, app data)")
	fs.StringVar(&f.db, "db", os.Getenv("BERTH_DB"), "MySQL/MariaDB URL mysql://user:pass@tcp(host:port)/name; empty for the embedded SQLite")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
