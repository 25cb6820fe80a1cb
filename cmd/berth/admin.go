package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"berth/auth"
	"berth/ent/schematype"
	"berth/migrations"
	"berth/storage"
)

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	status := fs.Bool("status", false, "show the applied and pending migrations; apply nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := storage.Open(ctx, storage.Config{URL: dbf.db, DataDir: dbf.data, SkipMigrate: true})
	if err != nil {
		return err
	}
	defer db.Close()
	if *status {
		current, pending, err := migrations.Status(ctx, db.SQL, db.Dialect)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: at %q, %d pending\n", db.Name, current, len(pending))
		for _, p := range pending {
			fmt.Fprintln(stdout, "  pending:", p)
		}
		return nil
	}
	n, err := migrations.Apply(ctx, db.SQL, db.Dialect)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: applied %d migration(s)\n", db.Name, n)
	return nil
}

func userAdd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	username := fs.String("username", "", "the new user's name")
	role := fs.String("role", "user", "owner, admin or user")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*fromStdin {
		return errors.New("--password-stdin is required (passwords are not taken as arguments)")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	db, err := storage.Open(ctx, storage.Config{URL: dbf.db, DataDir: dbf.data})
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := auth.NewService(db.Client).AddUser(ctx, *username, schematype.Role(*role), password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Username, u.ID)
	return nil
}
