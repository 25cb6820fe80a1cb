package migrations

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"github.com/go-sql-driver/mysql"

	entmigrate "berth/ent/migrate"
)

var generateMu sync.Mutex

// DefaultSQLiteDevDSN is the dev database Generate uses for SQLite when devDSN
// is empty: a private in-memory database (one connection, see Generate).
const DefaultSQLiteDevDSN = "file:berth_migrate_dev?mode=memory&_pragma=foreign_keys(1)"

// DefaultMySQLDevDSN is the MariaDB/MySQL server the generator uses when
// BERTH_MIGRATE_MYSQL is unset: root over the local unix socket.
const DefaultMySQLDevDSN = "root@unix(/run/mysqld/mysqld.sock)/"

// Generate writes a new Atlas-format migration file named
// "<UTC timestamp>_<name>.sql" into dir (and updates dir/atlas.sum) holding the
// statements that take a database migrated with the files already in dir to
// the current ent schema (berth/ent/migrate.Tables). It reports whether a file
// was written; when the files already match the schema it writes nothing.
//
// The current state is computed by replaying dir on an empty dev database:
//   - SQLite: devDSN is a modernc DSN of an empty database; "" means a private
//     in-memory database (DefaultSQLiteDevDSN).
//   - MySQL: devDSN is a go-sql-driver DSN of the server, without database name
//     ("" means DefaultMySQLDevDSN). Generate creates a scratch database
//     berth_migrate_dev_<pid>_<random> on it (utf8mb4) and drops it afterwards.
//
// Dropped columns and indexes are included in the plan: the ent schema is the
// single source of truth.
func Generate(ctx context.Context, dialectName, dir, devDSN, name string) (changed bool, err error) {
	d, _, err := normDialect(dialectName)
	if err != nil {
		return false, err
	}
	if name == "" {
		name = "changes"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("migrations: generate: %w", err)
	}
	ldir, err := atlasmigrate.NewLocalDir(dir)
	if err != nil {
		return false, fmt.Errorf("migrations: generate: open %s: %w", dir, err)
	}
	var db *sql.DB
	switch d {
	case SQLite:
		RegisterSQLite()
		if devDSN == "" {
			devDSN = DefaultSQLiteDevDSN
		}
		if db, err = sql.Open(SQLiteDriverName, devDSN); err != nil {
			return false, fmt.Errorf("migrations: generate: open sqlite dev database: %w", err)
		}
		// An in-memory database lives as long as its one connection.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		defer db.Close()
	case MySQL:
		if devDSN == "" {
			devDSN = DefaultMySQLDevDSN
		}
		var drop func() error
		db, drop, err = scratchMySQL(ctx, devDSN)
		if err != nil {
			return false, fmt.Errorf("migrations: generate: %w", err)
		}
		defer func() {
			db.Close()
			if derr := drop(); derr != nil && err == nil {
				err = fmt.Errorf("migrations: generate: %w", derr)
			}
		}()
	}
	if err := db.PingContext(ctx); err != nil {
		return false, fmt.Errorf("migrations: generate: %s dev database: %w", d, err)
	}
	drv := entsql.OpenDB(d, db)
	// ent's migration engine writes into the package-level
	// entmigrate.Tables while it plans (Atlas.setupTables): one at a time.
	generateMu.Lock()
	defer generateMu.Unlock()
	err = entmigrate.NewSchema(drv).NamedDiff(ctx, name,
		schema.WithDir(ldir),
		schema.WithMigrationMode(schema.ModeReplay),
		// Without an explicit formatter ent picks golang-migrate's format for a
		// LocalDir (.up.sql/.down.sql files).
		schema.WithFormatter(atlasmigrate.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithErrNoPlan(true),
	)
	switch {
	case errors.Is(err, atlasmigrate.ErrNoPlan):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("migrations: generate %s into %s: %w", d, dir, err)
	}
	return true, nil
}

// scratchMySQL creates an empty utf8mb4 database on the server of baseDSN and
// returns a pool on it (parseTime on) and a function dropping it.
func scratchMySQL(ctx context.Context, baseDSN string) (*sql.DB, func() error, error) {
	cfg, err := mysql.ParseDSN(baseDSN)
	if err != nil {
		return nil, nil, fmt.Errorf("parse mysql DSN: %w", err)
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, nil, err
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("berth_migrate_dev_%d_%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("create dev database %s: %w", name, err)
	}
	drop := func() error {
		defer admin.Close()
		// Not ctx: the database must go even when the caller was cancelled.
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			return fmt.Errorf("drop dev database %s: %w", name, err)
		}
		return nil
	}
	dev := cfg.Clone()
	dev.DBName = name
	dev.ParseTime = true
	db, err := sql.Open("mysql", dev.FormatDSN())
	if err != nil {
		return nil, nil, errors.Join(err, drop())
	}
	return db, drop, nil
}
