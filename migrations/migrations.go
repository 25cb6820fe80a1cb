// Package migrations holds berth's versioned database migrations (Atlas
// format, generated from the ent schema by ./migrations/gen) and applies them
// at start-up from the copies embedded in the binary.
//
//	migrations/mysql   MySQL / MariaDB
//	migrations/sqlite  SQLite (modernc.org/sqlite registered as "sqlite3")
//
// Each directory has an atlas.sum; a file edited, added or removed by hand
// makes Apply fail (ErrChecksum). Applied files are recorded in the table
// berth_schema_revisions of the migrated database.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	atlasmysql "ariga.io/atlas/sql/mysql"
	atlassqlite "ariga.io/atlas/sql/sqlite"
)

//go:embed mysql sqlite
var embedded embed.FS

var (
	// ErrChecksum: the migration files do not match their atlas.sum (a file
	// was edited, added or removed without regenerating). It is Atlas's
	// migrate.ErrChecksumMismatch, so errors.Is works with either.
	ErrChecksum = atlasmigrate.ErrChecksumMismatch
	// ErrUnmanagedSchema: the database has tables but no migration history,
	// e.g. it was created by ent's auto-migration. Nothing is applied.
	ErrUnmanagedSchema = errors.New("migrations: database has tables but no migration history in " + RevisionTable)
	// ErrHistoryChanged: a file recorded as applied has a different content
	// now (or a file before it changed or was inserted).
	ErrHistoryChanged = errors.New("migrations: an applied migration file changed")
	// ErrUnknownRevision: the database had a migration applied that this
	// binary does not have (it is older than the database's schema).
	ErrUnknownRevision = errors.New("migrations: database has a migration this binary does not know")
	// ErrLocked: another process kept the migration lock for too long.
	ErrLocked = errors.New("migrations: another process is migrating this database")
)

const (
	// lockWait is how long Apply waits for another process's migration:
	// GET_LOCK's timeout on MySQL, the minimum busy_timeout on SQLite.
	lockWait = 60 * time.Second
	// operatorVersion is recorded in berth_schema_revisions.operator_version.
	operatorVersion = "berth"
)

// Apply applies all pending embedded migration files of dialect (MySQL or
// SQLite, see the constants) to db and returns how many files it applied.
// db is a pool on the target database: for MySQL the DSN names the database
// (parseTime is not required); for SQLite foreign keys should be on. It is
// safe to call from several processes at once (see ApplyN).
func Apply(ctx context.Context, db *sql.DB, dialect string) (applied int, err error) {
	return ApplyN(ctx, db, dialect, -1)
}

// ApplyN is Apply stopping once the first n files of the directory (in
// version order) are applied; n < 0 means all, n == 0 applies nothing.
//
// Concurrency: the whole run holds a lock. MySQL: GET_LOCK on a pinned
// connection, named after the database ("berth_migrate:<database>"), waited
// for up to 60s and released with RELEASE_LOCK. SQLite: the run is one
// BEGIN IMMEDIATE transaction on a pinned connection, so a second process
// waits in SQLite's busy handler (busy_timeout raised to at least 60s for the
// run) and then finds nothing pending.
//
// Failure: on SQLite the transaction is rolled back and nothing stays
// applied (applied is 0). On MySQL, DDL commits implicitly: files before the
// failing one stay applied (counted in applied) and the failing file is
// recorded as partially applied; the next Apply resumes at the failed
// statement provided the statements before it did not change.
func ApplyN(ctx context.Context, db *sql.DB, dialect string, n int) (applied int, err error) {
	d, sub, err := normDialect(dialect)
	if err != nil {
		return 0, err
	}
	dir, err := embeddedDir(sub)
	if err != nil {
		return 0, err
	}
	return apply(ctx, db, d, dir, n)
}

// Status reports the last fully applied migration file of db ("" if none)
// and the names of the embedded files still to apply, in order. It takes no
// lock and changes nothing.
func Status(ctx context.Context, db *sql.DB, dialect string) (current string, pending []string, err error) {
	d, sub, err := normDialect(dialect)
	if err != nil {
		return "", nil, err
	}
	dir, err := embeddedDir(sub)
	if err != nil {
		return "", nil, err
	}
	return status(ctx, db, d, dir)
}

// embeddedDir copies the embedded directory sub into an Atlas MemDir.
func embeddedDir(sub string) (atlasmigrate.Dir, error) {
	fsys, err := fs.Sub(embedded, sub)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return dirFromFS(fsys)
}

// dirFromFS copies the top-level files of fsys into an Atlas MemDir.
func dirFromFS(fsys fs.FS) (atlasmigrate.Dir, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: read migration directory: %w", err)
	}
	dir := &atlasmigrate.MemDir{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", e.Name(), err)
		}
		if err := dir.WriteFile(e.Name(), b); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
	}
	return dir, nil
}

// session is a migration run on one pinned connection.
type session struct {
	drv atlasmigrate.Driver
	rrw *revisions
	// end releases the lock; commit says whether the run succeeded (SQLite
	// commits or rolls back accordingly). It returns an error if it could
	// not finish cleanly.
	end func(commit bool) error
}

func apply(ctx context.Context, db *sql.DB, d string, dir atlasmigrate.Dir, n int) (applied int, err error) {
	if err := atlasmigrate.Validate(dir); err != nil {
		return 0, fmt.Errorf("migrations: %s files do not match atlas.sum (changed by hand? run `make generate`): %w", d, err)
	}
	files, err := dir.Files()
	if err != nil {
		return 0, fmt.Errorf("migrations: %s: %w", d, err)
	}
	if n == 0 || len(files) == 0 {
		return 0, nil
	}
	if n > 0 && n < len(files) {
		files = files[:n]
	}
	last := files[len(files)-1].Version()

	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: %s: connect: %w", d, err)
	}
	defer conn.Close()
	var s *session
	switch d {
	case MySQL:
		s, err = beginMySQL(ctx, conn, true)
	default:
		s, err = beginSQLite(ctx, conn, true)
	}
	if err != nil {
		return 0, err
	}
	defer func() {
		if eerr := s.end(err == nil); eerr != nil {
			err = errors.Join(err, eerr)
			if d == SQLite {
				applied = 0 // the transaction did not commit
			}
		}
		if err != nil && d == SQLite {
			applied = 0 // rolled back
		}
	}()

	exists, err := s.rrw.exists(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: %s: %w", d, err)
	}
	if !exists {
		if err := s.drv.CheckClean(ctx, s.rrw.Ident()); err != nil {
			return 0, notClean(d, err)
		}
		if err := s.rrw.create(ctx); err != nil {
			return 0, fmt.Errorf("migrations: %s: %w", d, err)
		}
	}
	revs, err := s.rrw.ReadRevisions(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: %s: %w", d, err)
	}
	if err := checkHistory(dir, revs); err != nil {
		return 0, fmt.Errorf("migrations: %s: %w", d, err)
	}
	ex, err := atlasmigrate.NewExecutor(s.drv, dir, s.rrw, atlasmigrate.WithOperatorVersion(operatorVersion))
	if err != nil {
		return 0, fmt.Errorf("migrations: %s: %w", d, err)
	}
	pending, err := ex.Pending(ctx)
	switch {
	case errors.Is(err, atlasmigrate.ErrNoPendingFiles):
		return 0, nil
	case err != nil:
		return 0, notClean(d, err)
	}
	for _, f := range pending {
		if f.Version() > last {
			break
		}
		if err := ex.Execute(ctx, f); err != nil {
			if d == MySQL {
				var se *atlasmigrate.StmtExecError
				if errors.As(err, &se) {
					err = fmt.Errorf("%w (MySQL DDL is not transactional: %s is partially applied, %d file(s) before it are applied; fix the cause and run again to resume)", err, f.Name(), applied)
				}
			}
			return applied, fmt.Errorf("migrations: %s: apply %s: %w", d, f.Name(), err)
		}
		applied++
	}
	return applied, nil
}

func status(ctx context.Context, db *sql.DB, d string, dir atlasmigrate.Dir) (current string, pending []string, err error) {
	if err := atlasmigrate.Validate(dir); err != nil {
		return "", nil, fmt.Errorf("migrations: %s files do not match atlas.sum: %w", d, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("migrations: %s: connect: %w", d, err)
	}
	defer conn.Close()
	var s *session
	switch d {
	case MySQL:
		s, err = beginMySQL(ctx, conn, false)
	default:
		s, err = beginSQLite(ctx, conn, false)
	}
	if err != nil {
		return "", nil, err
	}
	defer s.end(true)
	revs, err := s.rrw.ReadRevisions(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("migrations: %s: %w", d, err)
	}
	for _, r := range revs {
		if r.Applied == r.Total && !r.Type.Has(atlasmigrate.RevisionTypeBaseline) {
			current = fileName(r)
		}
	}
	ex, err := atlasmigrate.NewExecutor(s.drv, dir, s.rrw)
	if err != nil {
		return "", nil, fmt.Errorf("migrations: %s: %w", d, err)
	}
	files, err := ex.Pending(ctx)
	switch {
	case errors.Is(err, atlasmigrate.ErrNoPendingFiles):
	case err != nil:
		return current, nil, notClean(d, err)
	}
	for _, f := range files {
		pending = append(pending, f.Name())
	}
	return current, pending, nil
}

func fileName(r *atlasmigrate.Revision) string {
	if r.Description == "" {
		return r.Version + ".sql"
	}
	return r.Version + "_" + r.Description + ".sql"
}

// notClean turns Atlas's NotCleanError into ErrUnmanagedSchema.
func notClean(d string, err error) error {
	var nc *atlasmigrate.NotCleanError
	if errors.As(err, &nc) {
		return fmt.Errorf("%w (%s): refusing to apply %s migrations over a schema they did not create", ErrUnmanagedSchema, nc.Reason, d)
	}
	return fmt.Errorf("migrations: %s: %w", d, err)
}

// checkHistory verifies that every applied revision still has its file, with
// the hash it had when it was applied.
func checkHistory(dir atlasmigrate.Dir, revs []*atlasmigrate.Revision) error {
	if len(revs) == 0 {
		return nil
	}
	files, err := dir.Files()
	if err != nil {
		return err
	}
	sums, err := dir.Checksum()
	if err != nil {
		return err
	}
	byVersion := make(map[string]atlasmigrate.File, len(files))
	for _, f := range files {
		byVersion[f.Version()] = f
	}
	for _, r := range revs {
		if r.Type.Has(atlasmigrate.RevisionTypeBaseline) {
			continue
		}
		f, ok := byVersion[r.Version]
		if !ok {
			return fmt.Errorf("%w: %s (this binary's newest file is %s)", ErrUnknownRevision, fileName(r), newest(files))
		}
		if r.Applied != r.Total || r.Hash == "" {
			continue // Atlas checks partially applied files statement by statement
		}
		if h, err := sums.SumByName(f.Name()); err != nil || h != r.Hash {
			return fmt.Errorf("%w: %s was applied with hash %s, the directory now gives %s", ErrHistoryChanged, f.Name(), r.Hash, h)
		}
	}
	return nil
}

func newest(files []atlasmigrate.File) string {
	if len(files) == 0 {
		return "none"
	}
	return files[len(files)-1].Name()
}

// beginMySQL opens the Atlas driver on conn; with lock it takes the
// migration lock first.
func beginMySQL(ctx context.Context, conn *sql.Conn, lock bool) (*session, error) {
	var name sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		return nil, fmt.Errorf("migrations: mysql: %w", err)
	}
	if !name.Valid || name.String == "" {
		return nil, errors.New("migrations: mysql: no database selected (the DSN must name the database)")
	}
	end := func(bool) error { return nil }
	if lock {
		key := lockKey(name.String)
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", key, int(lockWait/time.Second)).Scan(&got); err != nil {
			return nil, fmt.Errorf("migrations: mysql: GET_LOCK(%q): %w", key, err)
		}
		if !got.Valid || got.Int64 != 1 {
			return nil, fmt.Errorf("%w: lock %q not granted within %s", ErrLocked, key, lockWait)
		}
		end = func(bool) error {
			// Not the caller's context: the lock must go even after a cancel.
			var released sql.NullInt64
			err := conn.QueryRowContext(context.Background(), "SELECT RELEASE_LOCK(?)", key).Scan(&released)
			if err != nil || !released.Valid || released.Int64 != 1 {
				// Never return a connection that may still hold the lock to
				// the pool: the lock dies with the session.
				discard(conn)
				if err == nil {
					err = fmt.Errorf("RELEASE_LOCK returned %v", released)
				}
				return fmt.Errorf("migrations: mysql: release lock %q: %w", key, err)
			}
			return nil
		}
	}
	drv, err := atlasmysql.Open(conn)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("migrations: mysql: %w", err), end(false))
	}
	return &session{drv: drv, rrw: &revisions{conn: conn, dialect: MySQL, schema: name.String}, end: end}, nil
}

// lockKey is the GET_LOCK name for a database; GET_LOCK names are server-wide
// and at most 64 characters.
func lockKey(database string) string {
	key := "berth_migrate:" + database
	if len(key) > 64 {
		h := sha256.Sum256([]byte(database))
		key = "berth_migrate:" + hex.EncodeToString(h[:])[:40]
	}
	return key
}

// beginSQLite opens the Atlas driver on conn; with lock it turns foreign keys
// off (a no-op inside a transaction, and table rebuilds must not cascade) and
// starts a BEGIN IMMEDIATE transaction, which is the migration lock. end
// checks that no foreign key violation appeared, commits or rolls back, and
// restores the connection's pragmas.
func beginSQLite(ctx context.Context, conn *sql.Conn, lock bool) (*session, error) {
	drv, err := atlassqlite.Open(conn)
	if err != nil {
		return nil, fmt.Errorf("migrations: sqlite: %w", err)
	}
	s := &session{drv: drv, rrw: &revisions{conn: conn, dialect: SQLite, schema: "main"}, end: func(bool) error { return nil }}
	if !lock {
		return s, nil
	}
	var fk, busy int
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return nil, fmt.Errorf("migrations: sqlite: PRAGMA foreign_keys: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		return nil, fmt.Errorf("migrations: sqlite: PRAGMA busy_timeout: %w", err)
	}
	var restore []string
	restorePragmas := func() error {
		var errs []error
		for _, q := range restore {
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", q, err))
			}
		}
		if len(errs) > 0 {
			discard(conn)
			return fmt.Errorf("migrations: sqlite: restore connection: %w", errors.Join(errs...))
		}
		return nil
	}
	if want := int(lockWait / time.Millisecond); busy < want {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", want)); err != nil {
			return nil, fmt.Errorf("migrations: sqlite: set busy_timeout: %w", err)
		}
		restore = append(restore, fmt.Sprintf("PRAGMA busy_timeout = %d", busy))
	}
	if fk == 1 {
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = off"); err != nil {
			return nil, errors.Join(fmt.Errorf("migrations: sqlite: foreign_keys off: %w", err), restorePragmas())
		}
		restore = append(restore, "PRAGMA foreign_keys = on")
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		err = fmt.Errorf("migrations: sqlite: BEGIN IMMEDIATE: %w", err)
		if strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked") {
			err = fmt.Errorf("%w: %w", ErrLocked, err)
		}
		return nil, errors.Join(err, restorePragmas())
	}
	var before map[string]bool
	if fk == 1 {
		if before, err = fkViolations(ctx, conn); err != nil {
			_, rerr := conn.ExecContext(context.Background(), "ROLLBACK")
			return nil, errors.Join(fmt.Errorf("migrations: sqlite: %w", err), rerr, restorePragmas())
		}
	}
	s.end = func(commit bool) error {
		var errs []error
		if commit && fk == 1 {
			after, err := fkViolations(context.Background(), conn)
			if err != nil {
				errs = append(errs, err)
				commit = false
			}
			for v := range after {
				if !before[v] {
					errs = append(errs, fmt.Errorf("foreign key violation after migration: %s", v))
					commit = false
				}
			}
		}
		q := "ROLLBACK"
		if commit {
			q = "COMMIT"
		}
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", q, err))
			if commit {
				_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
			}
		}
		var err error
		if len(errs) > 0 {
			err = fmt.Errorf("migrations: sqlite: %w", errors.Join(errs...))
		}
		return errors.Join(err, restorePragmas())
	}
	return s, nil
}

// fkViolations lists the rows of PRAGMA foreign_key_check.
func fkViolations(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, fmt.Errorf("PRAGMA foreign_key_check: %w", err)
	}
	defer rows.Close()
	vs := map[string]bool{}
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return nil, fmt.Errorf("PRAGMA foreign_key_check: %w", err)
		}
		vs[fmt.Sprintf("table %s rowid %d references %s (fk %d)", table, rowid.Int64, parent, fkid)] = true
	}
	return vs, rows.Err()
}

// discard makes database/sql close conn instead of returning it to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
