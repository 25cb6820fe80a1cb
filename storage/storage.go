// Package storage opens berth's database: an embedded SQLite file by default,
// or MySQL/MariaDB for installations with several processes or hosts. It
// applies pending migrations and hands out the ent client.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/go-sql-driver/mysql"

	"berth/ent"
	"berth/migrations"
)

// Config says which database to open.
type Config struct {
	// URL is "mysql://user:pass@tcp(host:port)/name[?params]". Empty means
	// the embedded SQLite database in DataDir.
	URL string
	// DataDir holds the SQLite file when URL is empty.
	DataDir string
	// WrapDriver, when set, wraps the ent driver (tests count statements with it).
	WrapDriver func(dialect.Driver) dialect.Driver
	// SkipMigrate opens the database without applying pending migrations.
	SkipMigrate bool
}

// DB is an open database.
type DB struct {
	Client  *ent.Client
	SQL     *sql.DB
	Dialect string // dialect.SQLite or dialect.MySQL
	// Name describes the database for logs, without credentials.
	Name string
	// Config is what the database was opened with; task subprocesses open
	// it again from it.
	Config Config
}

// Close closes the database.
func (db *DB) Close() error { return db.Client.Close() }

// Open opens the database cfg describes and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	db, err := openSQL(cfg)
	if err != nil {
		return nil, err
	}
	db.Config = cfg
	if err := pingWithRetry(ctx, db.SQL); err != nil {
		db.SQL.Close()
		return nil, fmt.Errorf("connect to %s: %w", db.Name, err)
	}
	if !cfg.SkipMigrate {
		if _, err := migrations.Apply(ctx, db.SQL, db.Dialect); err != nil {
			db.SQL.Close()
			return nil, fmt.Errorf("migrate %s: %w", db.Name, err)
		}
	}
	var drv dialect.Driver = entsql.OpenDB(db.Dialect, db.SQL)
	if cfg.WrapDriver != nil {
		drv = cfg.WrapDriver(drv)
	}
	db.Client = ent.NewClient(ent.Driver(drv))
	return db, nil
}

func openSQL(cfg Config) (*DB, error) {
	if cfg.URL == "" {
		return openSQLite(cfg.DataDir)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("database URL %q: want mysql://user:pass@tcp(host:port)/name", cfg.URL)
	}
	switch u.Scheme {
	case "mysql":
		return openMySQL(strings.TrimPrefix(cfg.URL, "mysql://"))
	case "sqlite", "file":
		return openSQLiteFile(strings.TrimPrefix(strings.TrimPrefix(cfg.URL, "sqlite://"), "file:"))
	default:
		return nil, fmt.Errorf("database URL %q: unsupported scheme %q (want mysql)", cfg.URL, u.Scheme)
	}
}

func openSQLite(dataDir string) (*DB, error) {
	if dataDir == "" {
		return nil, errors.New("data directory not set")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return openSQLiteFile(filepath.Join(dataDir, "berth.db"))
}

// SQLiteDSN is the DSN of the SQLite file at path: WAL so readers do not
// block the writer, foreign keys on, a busy timeout instead of immediate
// SQLITE_BUSY, and BEGIN IMMEDIATE so that two processes never deadlock
// upgrading a read transaction to a write one.
func SQLiteDSN(path string) string {
	// busy_timeout first: switching a new file to WAL already needs it.
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
}

func openSQLiteFile(path string) (*DB, error) {
	migrations.RegisterSQLite()
	db, err := sql.Open("sqlite3", SQLiteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &DB{SQL: db, Dialect: dialect.SQLite, Name: "sqlite:" + path}, nil
}

// MySQLConfig parses a go-sql-driver DSN and sets what berth relies on.
func MySQLConfig(dsn string) (*mysql.Config, error) {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse mysql DSN: %w", err)
	}
	c.ParseTime = true
	c.Loc = time.UTC
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	c.Collation = "utf8mb4_bin"
	c.Params["time_zone"] = "'+00:00'"
	return c, nil
}

func openMySQL(dsn string) (*DB, error) {
	c, err := MySQLConfig(dsn)
	if err != nil {
		return nil, err
	}
	if c.DBName == "" {
		return nil, errors.New("mysql DSN names no database")
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("mysql connector: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(30 * time.Minute)
	name := fmt.Sprintf("mysql:%s(%s)/%s", c.Net, c.Addr, c.DBName)
	return &DB{SQL: db, Dialect: dialect.MySQL, Name: name}, nil
}

// pingWithRetry waits up to 10 s for a database that is still starting. An
// answer from the server that refuses us is final.
func pingWithRetry(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		err := db.PingContext(ctx)
		var refused *mysql.MySQLError
		if err == nil || errors.As(err, &refused) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
