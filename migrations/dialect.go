package migrations

import (
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
)

// Dialect names accepted by Apply, ApplyN, Status and Generate. They are ent's
// dialect names; "sqlite" and "mariadb" are accepted as aliases.
const (
	MySQL  = dialect.MySQL  // "mysql": MySQL and MariaDB; files in migrations/mysql
	SQLite = dialect.SQLite // "sqlite3": files in migrations/sqlite
)

// normDialect maps a dialect name to MySQL or SQLite and returns the name of
// the embedded directory holding its files.
func normDialect(d string) (name, dir string, err error) {
	switch strings.ToLower(d) {
	case dialect.MySQL, "mariadb":
		return MySQL, "mysql", nil
	case dialect.SQLite, "sqlite":
		return SQLite, "sqlite", nil
	}
	return "", "", fmt.Errorf("migrations: unsupported dialect %q (want %q or %q)", d, MySQL, SQLite)
}
