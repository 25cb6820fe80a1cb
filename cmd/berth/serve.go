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
	"time"

	"berth/auth"
	_ "berth/ent/runtime"
	"berth/frontend"
	"berth/server"
	"berth/storage"
)

func serve(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	listen := fs.String("listen", envOr("BERTH_LISTEN", "127.0.0.1:8080"), "address to serve HTTP on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	db, err := storage.Open(ctx, storage.Config{URL: dbf.db, DataDir: dbf.data})
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("database ready", "db", db.Name)

	authSvc := auth.NewService(db.Client)
	if err := ensureOwner(ctx, log, authSvc, dbf.data); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := server.New(server.Config{
		Client: db.Client,
		Auth:   authSvc,
		Log:    log,
		Ping:   db.SQL.PingContext,
		SPA:    frontend.Handler(),
	})
	log.Info("serving", "url", "http://"+ln.Addr().String(), "playground", "http://"+ln.Addr().String()+"/playground",
		"startup", time.Since(start).Round(time.Millisecond))
	err = srv.Serve(ctx, ln, 15*time.Second)
	log.Info("stopped")
	return err
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
