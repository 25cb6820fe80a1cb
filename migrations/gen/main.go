// Command gen writes new versioned migration files for the current ent schema
// into migrations/sqlite and migrations/mysql (Atlas format, with atlas.sum).
//
// Run from the repository root (it is `make generate`'s last step, after ent):
//
//	go run -mod=mod ./migrations/gen [name]
//
// name defaults to "changes". The MySQL dev database is a scratch database on
// the server of $BERTH_MIGRATE_MYSQL (a go-sql-driver DSN without database
// name; default root over /run/mysqld/mysqld.sock), created and dropped here.
// A dialect whose files already match the schema gets no new file.
//
// This is a normal main package, not a //go:build ignore file: `go run` of a
// directory whose only file is excluded by build constraints fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"berth/migrations"
)

func main() {
	root := flag.String("dir", "migrations", "directory holding the mysql and sqlite migration directories")
	only := flag.String("dialect", "", `generate for one dialect only ("mysql" or "sqlite3")`)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run -mod=mod ./migrations/gen [-dir migrations] [-dialect mysql|sqlite3] [name]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	name := "changes"
	switch flag.NArg() {
	case 0:
	case 1:
		name = flag.Arg(0)
	default:
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	targets := []struct{ dialect, sub, dev string }{
		{migrations.SQLite, "sqlite", ""},
		{migrations.MySQL, "mysql", os.Getenv("BERTH_MIGRATE_MYSQL")},
	}
	failed := false
	for _, t := range targets {
		if *only != "" && *only != t.dialect && *only != t.sub {
			continue
		}
		dir := filepath.Join(*root, t.sub)
		changed, err := migrations.Generate(ctx, t.dialect, dir, t.dev, name)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "migrations/gen: %s: %v\n", t.dialect, err)
			failed = true
		case changed:
			fmt.Printf("%s: wrote a new migration %q into %s\n", t.dialect, name, dir)
		default:
			fmt.Printf("%s: no changes\n", t.dialect)
		}
	}
	if failed {
		os.Exit(1)
	}
}
