package migrations

import (
	"database/sql"
	"slices"
	"sync"

	"modernc.org/sqlite"
)

// SQLiteDriverName is the database/sql driver name ent and Atlas expect for
// SQLite (ent's dialect.SQLite). RegisterSQLite makes the pure-Go driver
// modernc.org/sqlite, which registers itself as "sqlite", available under it.
const SQLiteDriverName = "sqlite3"

var registerSQLite sync.Once

// RegisterSQLite registers modernc.org/sqlite under the name "sqlite3" so that
// sql.Open("sqlite3", dsn) and ent's dialect.SQLite work with the pure-Go
// driver. It is safe to call any number of times, from any goroutine; if some
// other package already registered a "sqlite3" driver, that one is kept.
//
// DSNs for modernc look like
//
//	file:/path/berth.db?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate
//
// ent refuses a SQLite connection without foreign_keys(1).
func RegisterSQLite() {
	registerSQLite.Do(func() {
		if slices.Contains(sql.Drivers(), SQLiteDriverName) {
			return
		}
		sql.Register(SQLiteDriverName, &sqlite.Driver{})
	})
}
