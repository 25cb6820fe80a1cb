package migrations

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/go-sql-driver/mysql"

	"berth/ent"
	entmigrate "berth/ent/migrate"
	"berth/ent/user"
	"berth/gid"
)

// A backend is one dialect the tests run on. fresh returns the DSN of a new,
// empty database that is dropped when the test ends; open opens a new pool on
// such a DSN.
type backend struct {
	name    string // subtest name
	dialect string // MySQL or SQLite
	sub     string // embedded directory
	devDSN  string // Generate's devDSN
	fresh   func(t *testing.T) string
	open    func(t *testing.T, dsn string) *sql.DB
}

const socketDSN = "root@unix(/run/mysqld/mysqld.sock)/"

var (
	mysqlOnce   sync.Once
	mysqlServer string // go-sql-driver DSN of the server, "" if none
	mysqlWhy    string
	dbCounter   atomic.Int64
)

// testMySQL finds the MariaDB/MySQL server: $BERTH_TEST_MYSQL, else the local
// socket if it answers. Without one the MySQL subtests skip, or fail when $CI
// is set.
func testMySQL(t *testing.T) string {
	t.Helper()
	mysqlOnce.Do(func() {
		dsn := os.Getenv("BERTH_TEST_MYSQL")
		explicit := dsn != ""
		if !explicit {
			dsn = socketDSN
		}
		db, err := sql.Open("mysql", dsn)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
		}
		switch {
		case err == nil:
			mysqlServer = dsn
		case explicit:
			mysqlWhy = fmt.Sprintf("BERTH_TEST_MYSQL=%q does not answer: %v", dsn, err)
		default:
			mysqlWhy = fmt.Sprintf("no MySQL/MariaDB: BERTH_TEST_MYSQL unset and %s does not answer: %v", socketDSN, err)
		}
	})
	if mysqlServer == "" {
		if os.Getenv("CI") != "" || os.Getenv("BERTH_TEST_MYSQL") != "" {
			t.Fatal(mysqlWhy)
		}
		t.Skip(mysqlWhy)
	}
	return mysqlServer
}

func backends() []backend {
	return []backend{
		{
			name: "sqlite", dialect: SQLite, sub: "sqlite",
			fresh: func(t *testing.T) string {
				RegisterSQLite()
				path := filepath.Join(t.TempDir(), "berth.db")
				return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate&_time_format=sqlite"
			},
			open: func(t *testing.T, dsn string) *sql.DB {
				db, err := sql.Open(SQLiteDriverName, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			},
		},
		{
			name: "mysql", dialect: MySQL, sub: "mysql",
			fresh: func(t *testing.T) string {
				server := testMySQL(t)
				cfg, err := mysql.ParseDSN(server)
				if err != nil {
					t.Fatal(err)
				}
				cfg.DBName = ""
				admin, err := sql.Open("mysql", cfg.FormatDSN())
				if err != nil {
					t.Fatal(err)
				}
				var rnd [3]byte
				_, _ = rand.Read(rnd[:])
				name := fmt.Sprintf("berth_mt_%d_%d_%s", os.Getpid(), dbCounter.Add(1), hex.EncodeToString(rnd[:]))
				if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
					admin.Close()
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
						t.Errorf("drop %s: %v", name, err)
					}
					admin.Close()
				})
				cfg.DBName = name
				cfg.ParseTime = true
				return cfg.FormatDSN()
			},
			open: func(t *testing.T, dsn string) *sql.DB {
				db, err := sql.Open("mysql", dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			},
		},
	}
}

// forEach runs f once per backend, in parallel subtests.
func forEach(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			if b.dialect == MySQL {
				b.devDSN = testMySQL(t)
			}
			f(t, b)
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func embeddedFiles(t *testing.T, sub string) []atlasmigrate.File {
	t.Helper()
	dir, err := embeddedDir(sub)
	if err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no migration files embedded in %s", sub)
	}
	return files
}

func tables(t *testing.T, ctx context.Context, db *sql.DB, dialect string) map[string]bool {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	if dialect == MySQL {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got[n] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func revisionCount(t *testing.T, ctx context.Context, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+RevisionTable+" WHERE applied = total").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// memDir copies the embedded directory sub into a MemDir the test may change.
func memDir(t *testing.T, sub string) *atlasmigrate.MemDir {
	t.Helper()
	d, err := embeddedDir(sub)
	if err != nil {
		t.Fatal(err)
	}
	return d.(*atlasmigrate.MemDir)
}

func rehash(t *testing.T, dir *atlasmigrate.MemDir) {
	t.Helper()
	sum, err := dir.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := atlasmigrate.WriteSumFile(dir, sum); err != nil {
		t.Fatal(err)
	}
}

func TestApplyFresh(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		db := b.open(t, b.fresh(t))
		files := embeddedFiles(t, b.sub)

		cur, pending, err := Status(ctx, db, b.dialect)
		if err != nil {
			t.Fatalf("Status before: %v", err)
		}
		if cur != "" || len(pending) != len(files) {
			t.Fatalf("Status before = %q, %v; want \"\", %d files", cur, pending, len(files))
		}

		n, err := Apply(ctx, db, b.dialect)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if n != len(files) {
			t.Fatalf("Apply applied %d files, want %d", n, len(files))
		}
		got := tables(t, ctx, db, b.dialect)
		for _, tbl := range entmigrate.Tables {
			if !got[tbl.Name] {
				t.Errorf("table %s missing after Apply (have %v)", tbl.Name, got)
			}
		}
		if !got[RevisionTable] {
			t.Errorf("%s missing", RevisionTable)
		}
		if c := revisionCount(t, ctx, db); c != len(files) {
			t.Errorf("%d revisions recorded, want %d", c, len(files))
		}

		n, err = Apply(ctx, db, b.dialect)
		if err != nil || n != 0 {
			t.Fatalf("second Apply = %d, %v; want 0, nil", n, err)
		}
		cur, pending, err = Status(ctx, db, b.dialect)
		if err != nil {
			t.Fatalf("Status after: %v", err)
		}
		if want := files[len(files)-1].Name(); cur != want || len(pending) != 0 {
			t.Fatalf("Status after = %q, %v; want %q, none", cur, pending, want)
		}
	})
}

// TestNoDrift fails when the ent schema changed but the migration files were
// not regenerated (`make generate`).
func TestNoDrift(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		tmp := t.TempDir()
		sub, err := fs.Sub(embedded, b.sub)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(tmp, sub); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadDir(tmp)
		changed, err := Generate(ctx, b.dialect, tmp, b.devDSN, "drift")
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if changed {
			after, _ := os.ReadDir(tmp)
			var news []string
			for _, e := range after {
				if !strings.HasSuffix(e.Name(), "_drift.sql") {
					continue
				}
				b, _ := os.ReadFile(filepath.Join(tmp, e.Name()))
				news = append(news, e.Name()+":\n"+string(b))
			}
			t.Fatalf("migrations/%s is out of date with ent/schema (%d files before): run `make generate`. Missing migration:\n%s",
				b.sub, len(before), strings.Join(news, "\n"))
		}
	})
}

func TestEditedFile(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		files := embeddedFiles(t, b.sub)
		last := files[len(files)-1].Name()

		t.Run("edited", func(t *testing.T) {
			dir := memDir(t, b.sub)
			f, _ := fs.ReadFile(dir, last)
			if err := dir.WriteFile(last, append(f, "\n-- edited by hand\n"...)); err != nil {
				t.Fatal(err)
			}
			db := b.open(t, b.fresh(t))
			n, err := apply(ctx, db, b.dialect, dir, -1)
			if !errors.Is(err, ErrChecksum) || n != 0 {
				t.Fatalf("apply = %d, %v; want 0, checksum error", n, err)
			}
			if got := tables(t, ctx, db, b.dialect); len(got) != 0 {
				t.Fatalf("tables created despite checksum error: %v", got)
			}
		})
		t.Run("sum missing", func(t *testing.T) {
			m := memDir(t, b.sub)
			dir := &atlasmigrate.MemDir{}
			for _, f := range files {
				b, _ := fs.ReadFile(m, f.Name())
				_ = dir.WriteFile(f.Name(), b)
			}
			db := b.open(t, b.fresh(t))
			if _, err := apply(ctx, db, b.dialect, dir, -1); !errors.Is(err, atlasmigrate.ErrChecksumNotFound) {
				t.Fatalf("apply without atlas.sum: %v", err)
			}
		})
		t.Run("changed after apply", func(t *testing.T) {
			db := b.open(t, b.fresh(t))
			if _, err := Apply(ctx, db, b.dialect); err != nil {
				t.Fatal(err)
			}
			dir := memDir(t, b.sub)
			f, _ := fs.ReadFile(dir, last)
			_ = dir.WriteFile(last, append(f, "\n-- edited and rehashed\n"...))
			rehash(t, dir)
			if _, err := apply(ctx, db, b.dialect, dir, -1); !errors.Is(err, ErrHistoryChanged) {
				t.Fatalf("apply of a changed, applied file: %v; want ErrHistoryChanged", err)
			}
		})
		t.Run("binary older than database", func(t *testing.T) {
			dir := memDir(t, b.sub)
			_ = dir.WriteFile("29990101000000_future.sql", []byte("CREATE TABLE `zz_future` (`id` int NOT NULL);\n"))
			rehash(t, dir)
			db := b.open(t, b.fresh(t))
			if n, err := apply(ctx, db, b.dialect, dir, -1); err != nil || n != len(files)+1 {
				t.Fatalf("apply with future file = %d, %v", n, err)
			}
			if _, err := Apply(ctx, db, b.dialect); !errors.Is(err, ErrUnknownRevision) {
				t.Fatalf("Apply of older files: %v; want ErrUnknownRevision", err)
			}
		})
	})
}

func TestUnmanagedSchema(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		db := b.open(t, b.fresh(t))
		if _, err := db.ExecContext(ctx, "CREATE TABLE users (id varchar(40) NOT NULL PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		n, err := Apply(ctx, db, b.dialect)
		if !errors.Is(err, ErrUnmanagedSchema) || n != 0 {
			t.Fatalf("Apply on an unmanaged schema = %d, %v; want ErrUnmanagedSchema", n, err)
		}
		t.Logf("error: %v", err)
		got := tables(t, ctx, db, b.dialect)
		if len(got) != 1 {
			t.Fatalf("Apply changed an unmanaged schema: tables %v", got)
		}
		if _, _, err := Status(ctx, db, b.dialect); !errors.Is(err, ErrUnmanagedSchema) {
			t.Fatalf("Status on an unmanaged schema: %v", err)
		}
	})
}

// TestUpgrade applies every prefix of the files, writes rows through ent into
// the tables existing then, applies the rest and checks the rows survived.
func TestUpgrade(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		files := embeddedFiles(t, b.sub)
		for k := 0; k <= len(files); k++ {
			t.Run(fmt.Sprintf("first_%d_of_%d", k, len(files)), func(t *testing.T) {
				ctx := ctxT(t)
				db := b.open(t, b.fresh(t))
				n, err := ApplyN(ctx, db, b.dialect, k)
				if err != nil || n != k {
					t.Fatalf("ApplyN(%d) = %d, %v", k, n, err)
				}
				client := ent.NewClient(ent.Driver(entsql.OpenDB(b.dialect, db)))
				have := tables(t, ctx, db, b.dialect)
				var userID, appID gid.ID
				insert := func() {
					if have["users"] && userID == "" {
						u, err := client.User.Create().SetUsername("upgrade").SetPasswordHash("x").Save(ctx)
						if err != nil {
							t.Fatalf("insert user after %d files: %v", k, err)
						}
						userID = u.ID
					}
					if have["apps"] && appID == "" {
						a, err := client.App.Create().SetLocation("upgrade.example.com").SetImage("img:1").Save(ctx)
						if err != nil {
							t.Fatalf("insert app after %d files: %v", k, err)
						}
						appID = a.ID
					}
				}
				insert()
				n, err = Apply(ctx, db, b.dialect)
				if err != nil || n != len(files)-k {
					t.Fatalf("Apply after %d = %d, %v; want %d", k, n, err, len(files)-k)
				}
				have = tables(t, ctx, db, b.dialect)
				if !have["users"] || !have["apps"] {
					t.Fatalf("users/apps missing after all files: %v", have)
				}
				insert() // rows for tables that did not exist before
				u, err := client.User.Query().Where(user.Username("upgrade")).Only(ctx)
				if err != nil || u.ID != userID {
					t.Fatalf("user after upgrade: %+v, %v (want id %s)", u, err, userID)
				}
				a, err := client.App.Get(ctx, appID)
				if err != nil || a.Location != "upgrade.example.com" || a.Image != "img:1" {
					t.Fatalf("app after upgrade: %+v, %v", a, err)
				}
			})
		}
	})
}

func TestConcurrentApply(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		dsn := b.fresh(t)
		// Create the database first: two connections switching a brand-new
		// SQLite file to WAL at the same moment can fail with SQLITE_BUSY
		// without waiting (a property of opening, not of Apply).
		if err := b.open(t, dsn).PingContext(ctx); err != nil {
			t.Fatal(err)
		}
		dbs := []*sql.DB{b.open(t, dsn), b.open(t, dsn)}
		files := embeddedFiles(t, b.sub)
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			applied [2]int
			errs    [2]error
		)
		for i, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				applied[i], errs[i] = Apply(ctx, db, b.dialect)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Apply #%d: %v", i, err)
			}
		}
		if applied[0]+applied[1] != len(files) {
			t.Errorf("applied %d + %d files, want %d in total", applied[0], applied[1], len(files))
		}
		if c := revisionCount(t, ctx, dbs[0]); c != len(files) {
			t.Errorf("%d revisions, want %d", c, len(files))
		}
		got := tables(t, ctx, dbs[0], b.dialect)
		for _, tbl := range entmigrate.Tables {
			if !got[tbl.Name] {
				t.Errorf("table %s missing", tbl.Name)
			}
		}
	})
}

// TestFailingFile: a file failing in its second statement. SQLite rolls the
// whole run back; MySQL keeps what DDL committed, records the file as
// partially applied and resumes at the failed statement.
func TestFailingFile(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		ctx := ctxT(t)
		files := embeddedFiles(t, b.sub)
		const bad = "29990101000000_bad.sql"
		dir := memDir(t, b.sub)
		_ = dir.WriteFile(bad, []byte("CREATE TABLE `zz_first` (`id` int NOT NULL);\nINSERT INTO `zz_missing` (`id`) VALUES (1);\n"))
		rehash(t, dir)
		db := b.open(t, b.fresh(t))
		n, err := apply(ctx, db, b.dialect, dir, -1)
		if err == nil || !strings.Contains(err.Error(), "apply "+bad) {
			t.Fatalf("apply = %d, %v; want an error naming %s", n, err, bad)
		}
		t.Logf("error: %v", err)
		var se *atlasmigrate.StmtExecError
		if !errors.As(err, &se) {
			t.Errorf("error does not wrap the statement error: %v", err)
		}
		got := tables(t, ctx, db, b.dialect)
		switch b.dialect {
		case SQLite:
			if n != 0 || len(got) != 0 {
				t.Fatalf("after a failed SQLite run: applied %d, tables %v; want nothing", n, got)
			}
		case MySQL:
			if n != len(files) || !got["zz_first"] {
				t.Fatalf("after a failed MySQL run: applied %d, tables %v", n, got)
			}
			cur, pending, err := status(ctx, db, b.dialect, dir)
			if err != nil || cur != files[len(files)-1].Name() || len(pending) != 1 || pending[0] != bad {
				t.Fatalf("status = %q, %v, %v", cur, pending, err)
			}
			if _, err := db.ExecContext(ctx, "CREATE TABLE `zz_missing` (`id` int NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			if n, err := apply(ctx, db, b.dialect, dir, -1); err != nil || n != 1 {
				t.Fatalf("resume = %d, %v; want 1, nil", n, err)
			}
		}
	})
}

// TestSQLiteConnectionRestored: Apply turns foreign keys off and raises
// busy_timeout on its connection; the pool must get it back as it was.
func TestSQLiteConnectionRestored(t *testing.T) {
	b := backends()[0]
	ctx := ctxT(t)
	db := b.open(t, b.fresh(t))
	db.SetMaxOpenConns(1)
	if _, err := Apply(ctx, db, SQLite); err != nil {
		t.Fatal(err)
	}
	var fk, busy int
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if fk != 1 || busy != 10000 {
		t.Fatalf("after Apply: foreign_keys=%d busy_timeout=%d; want 1, 10000", fk, busy)
	}
}

// TestSQLiteRebuildKeepsChildren: Atlas changes a SQLite table by rebuilding
// it (create new_t, copy, DROP TABLE t, rename). With foreign keys on, DROP
// TABLE deletes the rows first and cascades to the children; the file's own
// "PRAGMA foreign_keys = off" is a no-op inside Apply's transaction, so Apply
// must turn them off around the transaction. Rebuild "users" (a parent with
// an ON DELETE CASCADE child, app_operators) and check the child row stays.
func TestSQLiteRebuildKeepsChildren(t *testing.T) {
	b := backends()[0]
	ctx := ctxT(t)
	db := b.open(t, b.fresh(t))
	if _, err := Apply(ctx, db, SQLite); err != nil {
		t.Fatal(err)
	}
	client := ent.NewClient(ent.Driver(entsql.OpenDB(SQLite, db)))
	u, err := client.User.Create().SetUsername("op").SetPasswordHash("x").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := client.App.Create().SetLocation("op.example.com").SetImage("img").AddOperatorIDs(u.ID).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The rebuild, in Atlas's shape, from the table's current definition.
	var create string
	if err := db.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'").Scan(&create); err != nil {
		t.Fatal(err)
	}
	newCreate := strings.Replace(create, "`users`", "`new_users`", 1)
	if newCreate == create {
		t.Fatalf("unexpected users DDL: %s", create)
	}
	var idx []string
	rows, err := db.QueryContext(ctx, "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		idx = append(idx, s+";")
	}
	rows.Close()
	file := strings.Join(append([]string{
		"PRAGMA foreign_keys = off;",
		newCreate + ";",
		"INSERT INTO `new_users` SELECT * FROM `users`;",
		"DROP TABLE `users`;",
		"ALTER TABLE `new_users` RENAME TO `users`;",
	}, append(idx, "PRAGMA foreign_keys = on;")...), "\n") + "\n"
	dir := memDir(t, b.sub)
	_ = dir.WriteFile("29990101000000_rebuild_users.sql", []byte(file))
	rehash(t, dir)
	if n, err := apply(ctx, db, SQLite, dir, -1); err != nil || n != 1 {
		t.Fatalf("apply rebuild = %d, %v", n, err)
	}
	ops, err := client.App.Query().QueryOperators().IDs(ctx)
	if err != nil || len(ops) != 1 || ops[0] != u.ID {
		t.Fatalf("operators of %s after rebuilding users: %v, %v; want [%s]", a.ID, ops, err, u.ID)
	}
}
