// Package storagetest gives tests fresh, migrated databases: an SQLite file
// and a database of its own on the local MariaDB, so that every storage test
// runs on both.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/go-sql-driver/mysql"

	"berth/storage"
)

// DefaultMySQL is where tests find MariaDB when BERTH_TEST_MYSQL is unset.
const DefaultMySQL = "root@unix(/run/mysqld/mysqld.sock)/"

// Dialects are the dialects every storage test runs on.
var Dialects = []string{dialect.SQLite, dialect.MySQL}

// Run runs f as a subtest on each dialect, each with a fresh database.
func Run(t *testing.T, f func(t *testing.T, db *storage.DB), opts ...Option) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			f(t, Open(t, d, opts...))
		})
	}
}

// Option adjusts the database a test gets.
type Option func(*storage.Config)

// WrapDriver wraps the ent driver, e.g. to count statements.
func WrapDriver(w func(dialect.Driver) dialect.Driver) Option {
	return func(c *storage.Config) { c.WrapDriver = w }
}

// Open returns a fresh migrated database of the dialect, removed when the
// test ends.
func Open(t testing.TB, d string, opts ...Option) *storage.DB {
	t.Helper()
	cfg := Config(t, d)
	for _, o := range opts {
		o(&cfg)
	}
	db, err := storage.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Config returns the storage configuration of a fresh, empty database of
// the dialect (nothing is migrated yet), removed when the test ends.
func Config(t testing.TB, d string) storage.Config {
	t.Helper()
	switch d {
	case dialect.SQLite:
		dir := t.TempDir()
		return storage.Config{DataDir: dir, URL: "sqlite://" + filepath.Join(dir, "berth.db")}
	case dialect.MySQL:
		return storage.Config{URL: "mysql://" + CreateMySQLDatabase(t)}
	}
	t.Fatalf("unknown dialect %q", d)
	return storage.Config{}
}

// CreateMySQLDatabase creates an empty database on the test MariaDB and
// returns its DSN; the database is dropped when the test ends. Without a
// reachable MariaDB the test is skipped, except under CI, where it fails.
func CreateMySQLDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv("BERTH_TEST_MYSQL")
	if base == "" {
		base = DefaultMySQL
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("BERTH_TEST_MYSQL: %v", err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("BERTH_TEST_MYSQL") != "" {
			t.Fatalf("MariaDB at %s: %v (run `make services`)", base, err)
		}
		t.Skipf("no MariaDB at %s (%v); `make test` starts one", base, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "berth_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}
