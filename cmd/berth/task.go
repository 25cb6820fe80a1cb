package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"berth/command"
	"berth/daemon"
	"berth/ent"
	enttask "berth/ent/task"
	"berth/gid"
	"berth/storage"
	"berth/task"
)

const taskUsage = `Usage:
  berth task list [--state STATE] [--limit N]
  berth task show ID
  berth task logs [-f] ID
  berth task cancel ID
  berth task run ID      (the subprocess the runner starts; not for people)
`

func taskCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, taskUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("task "+args[0], flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	state := fs.String("state", "", "list only tasks in this state")
	limit := fs.Int("limit", 50, "list at most this many tasks")
	follow := fs.Bool("f", false, "keep printing new lines until the task finishes")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var id gid.ID
	if args[0] != "list" {
		if fs.NArg() != 1 {
			fmt.Fprint(os.Stderr, taskUsage)
			return fmt.Errorf("task %s needs a task ID", args[0])
		}
		id = gid.ID(fs.Arg(0))
		if err := id.Validate(); err != nil || id.Prefix() != "task" {
			return fmt.Errorf("%q is not a task ID", fs.Arg(0))
		}
	}
	dataDir, err := filepath.Abs(dbf.data)
	if err != nil {
		return err
	}
	cfg := storage.Config{URL: dbf.db, DataDir: dataDir}
	if args[0] == "run" {
		h, err := daemon.Handlers(dataDir, instance(), os.Getenv("BERTH_MAIL_FQDN"), slog.New(slog.NewTextHandler(os.Stderr, nil)))
		if err != nil {
			return err
		}
		// Its stdout belongs to the runner, its stderr to the task log.
		return task.Subprocess(ctx, cfg, id, h, os.Stdout, os.Stderr)
	}
	db, err := storage.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	logDir := filepath.Join(dataDir, "tasks")

	switch args[0] {
	case "list":
		return listTasks(ctx, db.Client, *state, *limit, stdout)
	case "show":
		t, err := db.Client.Task.Get(ctx, id)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	case "logs":
		return printLogs(ctx, db.Client, logDir, id, *follow, stdout)
	case "cancel":
		if _, err := db.Client.Task.Get(ctx, id); err != nil {
			return err
		}
		c, err := command.NewQueue(db.Client, nil).Enqueue(ctx, "cli", id.String(), command.Abort, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cancel requested (%s); the task's runner will stop it\n", c.ID)
		return nil
	}
	fmt.Fprint(os.Stderr, taskUsage)
	return fmt.Errorf("unknown task command %q", args[0])
}

// instance names this berth installation on the Docker engine: containers
// are labelled with it, and berth touches no others.
func instance() string { return envOr("BERTH_INSTANCE", "berth") }

func listTasks(ctx context.Context, client *ent.Client, state string, limit int, stdout io.Writer) error {
	q := client.Task.Query().Order(ent.Desc(enttask.FieldCreatedAt)).Limit(limit)
	if state != "" {
		if err := enttask.StateValidator(enttask.State(state)); err != nil {
			return fmt.Errorf("--state: %w", err)
		}
		q.Where(enttask.StateEQ(enttask.State(state)))
	}
	tasks, err := q.All(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tTYPE\tSTATE\t%\tCREATED\tMESSAGE")
	for _, t := range tasks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", t.ID, t.Type, t.State, t.Percent,
			t.CreatedAt.Local().Format(time.DateTime), t.Message)
	}
	return w.Flush()
}

func printLogs(ctx context.Context, client *ent.Client, dir string, id gid.ID, follow bool, stdout io.Writer) error {
	print := func(l task.LogLine) error { _, err := fmt.Fprintln(stdout, l.Text); return err }
	last, err := task.ReadLog(dir, id, 0, print)
	for follow && err == nil {
		t, terr := client.Task.Get(ctx, id)
		if terr != nil {
			return terr
		}
		// Read once more after the final state: the last lines come first.
		done := task.Terminal(t.State)
		if last, err = task.ReadLog(dir, id, last, print); err != nil || done {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
