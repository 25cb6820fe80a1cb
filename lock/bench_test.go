package lock_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"berth/lock"
	"berth/storage"
	"berth/storage/storagetest"
)

// The benchmarks run 16 worker processes (this test binary again, see
// TestHelperProcess) against one database for a fixed time each and report
// operations per second over all workers; an operation is one acquire and
// one release. b.N is ignored: the figures come from the fixed run, so run
// them once (`go test -run '^$' -bench . -benchtime 1x ./lock/`; with the
// default benchtime each still runs once, as one run outlasts it).
const (
	benchWorkers = 16
	benchFor     = 3 * time.Second
)

// The scenarios, each on a fresh database:
//   - own-key: each worker takes and releases a key of its own through this
//     package (TryAcquire, Release).
//   - shared-key: all workers take one key (Acquire, waiting), and release.
//   - blob-baseline: the design the package replaces (seeds/000): one row
//     holding all locks as a JSON blob with a version; acquire and release
//     each read the blob and write it back by a CAS on the version, retrying
//     when another worker won. Own keys.
//   - bare-cas: the SQL the package runs in the common case, by hand:
//     database/sql, a table shaped like locks, one CAS UPDATE to acquire and
//     one to release, each worker knowing its row's version. Own keys. The
//     gap to own-key is the package's overhead.
func BenchmarkLocks(b *testing.B) {
	results := map[string]float64{} // dialect/scenario -> ops/s
	for _, d := range storagetest.Dialects {
		for _, sc := range []string{"own-key", "shared-key", "blob-baseline", "bare-cas"} {
			b.Run(d+"/"+sc, func(b *testing.B) {
				ops := runBench(b, d, sc)
				results[d+"/"+sc] = ops
				b.ReportMetric(ops, "ops/s")
				b.ReportMetric(0, "ns/op") // per b.N op means nothing here
			})
		}
	}
	printSummary(os.Stdout, results)
}

func printSummary(w io.Writer, results map[string]float64) {
	if len(results) == 0 {
		return
	}
	fmt.Fprintf(w, "\nlock benchmarks: %d worker processes, %v each; ops/s (acquire+release) over all workers\n", benchWorkers, benchFor)
	fmt.Fprintf(w, "%-8s %12s %12s %14s %12s %14s %14s\n", "dialect", "own-key", "shared-key", "blob-baseline", "bare-cas", "own/blob", "own/bare")
	for _, d := range storagetest.Dialects {
		r := func(sc string) float64 { return results[d+"/"+sc] }
		ops := func(sc string) string {
			if r(sc) == 0 {
				return "-" // not run
			}
			return fmt.Sprintf("%.0f", r(sc))
		}
		ratio := func(a, b string) string {
			if r(a) == 0 || r(b) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", r(a)/r(b))
		}
		fmt.Fprintf(w, "%-8s %12s %12s %14s %12s %14s %14s\n", d,
			ops("own-key"), ops("shared-key"), ops("blob-baseline"), ops("bare-cas"),
			ratio("own-key", "blob-baseline"), ratio("own-key", "bare-cas"))
	}
	fmt.Fprintln(w)
}

// runBench runs scenario with benchWorkers processes on a fresh database of
// dialect d and returns the operations per second of all of them.
func runBench(b *testing.B, d, scenario string) float64 {
	ctx := context.Background()
	cfg := storagetest.Config(b, d)
	db, err := storage.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := setupBench(ctx, db, scenario); err != nil {
		b.Fatalf("set up %s: %v", scenario, err)
	}

	procs := startHelpers(b, benchWorkers, envRole+"=bench", envBench+"="+scenario,
		envDB+"="+cfg.URL, envFor+"="+benchFor.String())
	var total int64
	for i, p := range procs {
		line, err := p.result()
		var n int64
		if err == nil {
			_, err = fmt.Sscanf(line, "ops %d", &n)
		}
		if err != nil {
			b.Fatalf("worker %d: %v", i, err)
		}
		total += n
	}
	return float64(total) / benchFor.Seconds()
}

// setupBench creates the tables of the baselines.
func setupBench(ctx context.Context, db *storage.DB, scenario string) error {
	var stmts []string
	switch scenario {
	case "blob-baseline":
		stmts = []string{
			"CREATE TABLE bench_blob (id INT NOT NULL PRIMARY KEY, data TEXT NOT NULL, version BIGINT NOT NULL)",
			"INSERT INTO bench_blob (id, data, version) VALUES (1, '{}', 0)",
		}
	case "bare-cas":
		if db.Dialect == dialect.MySQL {
			stmts = []string{"CREATE TABLE bench_cas LIKE locks"}
			break
		}
		var ddl string
		if err := db.SQL.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'locks'").Scan(&ddl); err != nil {
			return err
		}
		stmts = []string{
			strings.Replace(ddl, "`locks`", "`bench_cas`", 1),
			"CREATE UNIQUE INDEX bench_cas_key ON bench_cas (`key`)",
		}
	}
	now := benchNow()
	for i := range benchWorkers {
		if scenario == "bare-cas" {
			stmts = append(stmts, fmt.Sprintf(
				"INSERT INTO bench_cas (id, created_at, updated_at, `key`) VALUES ('lock_bench%d', '%s', '%s', 'own:%d')",
				i, now.Format("2006-01-02 15:04:05"), now.Format("2006-01-02 15:04:05"), i))
		}
	}
	for _, q := range stmts {
		if _, err := db.SQL.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func benchNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// benchWorker is the body of a benchmark worker process: it says "ready",
// waits for "go" on stdin, runs its scenario's operation for the given time
// and prints "ops N".
func benchWorker(ctx context.Context, db *storage.DB) error {
	w, err := strconv.Atoi(os.Getenv(envWorker))
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(os.Getenv(envFor))
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	h := lock.Holder{ID: fmt.Sprintf("task_bench%d", w), PID: os.Getpid(), Host: host}
	own := fmt.Sprintf("own:%d", w)
	m := lock.NewManager(db.Client, lock.WithLogger(quietLog()))

	var op func(ctx context.Context) error
	switch sc := os.Getenv(envBench); sc {
	case "own-key", "shared-key":
		key := own
		if sc == "shared-key" {
			key = "shared"
		}
		op = func(ctx context.Context) error {
			var l *lock.Lease
			var err error
			if sc == "shared-key" {
				l, err = m.Acquire(ctx, h, []string{key}, nil)
			} else {
				l, err = m.TryAcquire(ctx, h, []string{key})
			}
			if err != nil {
				return err
			}
			return m.Release(ctx, l)
		}
	case "blob-baseline":
		op = func(ctx context.Context) error {
			if err := blobUpdate(ctx, db.SQL, func(locks map[string]blobLock) error {
				if l, ok := locks[own]; ok && l.ExpiresAt.After(time.Now()) {
					return fmt.Errorf("%s held by %s", own, l.Holder)
				}
				locks[own] = blobLock{Holder: h.ID, PID: h.PID, Host: h.Host, ExpiresAt: time.Now().Add(lock.DefaultLease)}
				return nil
			}); err != nil {
				return err
			}
			return blobUpdate(ctx, db.SQL, func(locks map[string]blobLock) error {
				delete(locks, own)
				return nil
			})
		}
	case "bare-cas":
		c := &bareCAS{db: db.SQL, key: own, h: h}
		if err := c.read(ctx); err != nil {
			return err
		}
		op = c.op
	default:
		return fmt.Errorf("unknown scenario %q", sc)
	}

	if err := readyGo(); err != nil {
		return err
	}
	var n int64
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
		if err := op(ctx); err != nil {
			return err
		}
	}
	fmt.Printf("ops %d\n", n)
	return nil
}

// blobLock is one lock in the blob baseline.
type blobLock struct {
	Holder    string    `json:"holder"`
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// blobUpdate changes the blob by compare-and-set on its version, retrying
// until its CAS wins.
func blobUpdate(ctx context.Context, db *sql.DB, change func(map[string]blobLock) error) error {
	for {
		var (
			data    string
			version int64
		)
		if err := db.QueryRowContext(ctx, "SELECT data, version FROM bench_blob WHERE id = 1").Scan(&data, &version); err != nil {
			return err
		}
		locks := map[string]blobLock{}
		if err := json.Unmarshal([]byte(data), &locks); err != nil {
			return err
		}
		if err := change(locks); err != nil {
			return err
		}
		out, err := json.Marshal(locks)
		if err != nil {
			return err
		}
		res, err := db.ExecContext(ctx, "UPDATE bench_blob SET data = ?, version = ? WHERE id = 1 AND version = ?", string(out), version+1, version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
	}
}

// bareCAS is the package's common path by hand, on bench_cas.
type bareCAS struct {
	db      *sql.DB
	key     string
	h       lock.Holder
	version int64
}

func (c *bareCAS) read(ctx context.Context) error {
	return c.db.QueryRowContext(ctx, "SELECT version FROM bench_cas WHERE `key` = ?", c.key).Scan(&c.version)
}

func (c *bareCAS) op(ctx context.Context) error {
	now := benchNow()
	res, err := c.db.ExecContext(ctx,
		"UPDATE bench_cas SET version = ?, holder = ?, holder_pid = ?, holder_host = ?, acquired_at = ?, expires_at = ?, updated_at = ? "+
			"WHERE `key` = ? AND version = ? AND (holder = '' OR expires_at IS NULL OR expires_at <= ?)",
		c.version+1, c.h.ID, c.h.PID, c.h.Host, now, now.Add(lock.DefaultLease), now, c.key, c.version, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("acquire own key %s at version %d: %d rows, %v", c.key, c.version, n, err)
	}
	c.version++
	res, err = c.db.ExecContext(ctx,
		"UPDATE bench_cas SET holder = '', holder_pid = NULL, holder_host = '', acquired_at = NULL, expires_at = NULL, updated_at = ? "+
			"WHERE `key` = ? AND version = ? AND holder = ?",
		benchNow(), c.key, c.version, c.h.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("release own key %s at version %d: %d rows, %v", c.key, c.version, n, err)
	}
	return nil
}
