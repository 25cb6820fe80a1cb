package migrations

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
)

// RevisionTable is the table recording which migration files were applied.
const RevisionTable = "berth_schema_revisions"

// The revision table holds one row per migration file (Atlas's revision
// model): version is the file's timestamp prefix, applied/total count its
// statements (applied < total after a failed MySQL migration, whose DDL
// cannot be rolled back), partial_hashes the hashes of the statements applied
// so far (JSON array) and hash the file's atlas.sum hash.
var revisionTableDDL = map[string]string{
	MySQL: "CREATE TABLE IF NOT EXISTS `" + RevisionTable + "` (" +
		"`version` varchar(64) NOT NULL, " +
		"`description` varchar(255) NOT NULL DEFAULT '', " +
		"`type` int unsigned NOT NULL DEFAULT 2, " +
		"`applied` int NOT NULL DEFAULT 0, " +
		"`total` int NOT NULL DEFAULT 0, " +
		"`executed_at` datetime(6) NOT NULL, " +
		"`execution_time` bigint NOT NULL DEFAULT 0, " +
		"`error` longtext NULL, " +
		"`error_stmt` longtext NULL, " +
		"`hash` varchar(128) NOT NULL DEFAULT '', " +
		"`partial_hashes` longtext NULL, " +
		"`operator_version` varchar(255) NOT NULL DEFAULT '', " +
		"PRIMARY KEY (`version`)" +
		") CHARSET utf8mb4 COLLATE utf8mb4_bin",
	SQLite: "CREATE TABLE IF NOT EXISTS `" + RevisionTable + "` (" +
		"`version` text NOT NULL PRIMARY KEY, " +
		"`description` text NOT NULL DEFAULT '', " +
		"`type` integer NOT NULL DEFAULT 2, " +
		"`applied` integer NOT NULL DEFAULT 0, " +
		"`total` integer NOT NULL DEFAULT 0, " +
		"`executed_at` text NOT NULL, " +
		"`execution_time` integer NOT NULL DEFAULT 0, " +
		"`error` text NULL, " +
		"`error_stmt` text NULL, " +
		"`hash` text NOT NULL DEFAULT '', " +
		"`partial_hashes` text NULL, " +
		"`operator_version` text NOT NULL DEFAULT ''" +
		")",
}

const (
	revColumns = "`version`, `description`, `type`, `applied`, `total`, `executed_at`, `execution_time`, " +
		"`error`, `error_stmt`, `hash`, `partial_hashes`, `operator_version`"
	// executed_at is written as text in UTC so that neither the driver's time
	// handling (go-sql-driver's parseTime/loc, modernc's _time_format) nor the
	// session time zone matter.
	timeLayout = "2006-01-02 15:04:05.000000"
)

// revisions is the migrate.RevisionReadWriter storing revisions in
// RevisionTable, on the connection the migration runs on.
type revisions struct {
	conn    *sql.Conn
	dialect string
	schema  string // "main" for SQLite, DATABASE() for MySQL
}

var _ atlasmigrate.RevisionReadWriter = (*revisions)(nil)

func (r *revisions) Ident() *atlasmigrate.TableIdent {
	return &atlasmigrate.TableIdent{Name: RevisionTable, Schema: r.schema}
}

func (r *revisions) exists(ctx context.Context) (bool, error) {
	var q string
	switch r.dialect {
	case MySQL:
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	default:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	}
	var n int
	if err := r.conn.QueryRowContext(ctx, q, RevisionTable).Scan(&n); err != nil {
		return false, fmt.Errorf("look up %s: %w", RevisionTable, err)
	}
	return n > 0, nil
}

func (r *revisions) create(ctx context.Context) error {
	if _, err := r.conn.ExecContext(ctx, revisionTableDDL[r.dialect]); err != nil {
		return fmt.Errorf("create %s: %w", RevisionTable, err)
	}
	return nil
}

// ReadRevisions returns all revisions ordered by version; none when the table
// does not exist yet.
func (r *revisions) ReadRevisions(ctx context.Context) ([]*atlasmigrate.Revision, error) {
	ok, err := r.exists(ctx)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := r.conn.QueryContext(ctx, "SELECT "+revColumns+" FROM `"+RevisionTable+"` ORDER BY `version`")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RevisionTable, err)
	}
	defer rows.Close()
	var revs []*atlasmigrate.Revision
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		revs = append(revs, rev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", RevisionTable, err)
	}
	return revs, nil
}

// ReadRevision returns the revision of a version or migrate.ErrRevisionNotExist.
func (r *revisions) ReadRevision(ctx context.Context, version string) (*atlasmigrate.Revision, error) {
	rows, err := r.conn.QueryContext(ctx, "SELECT "+revColumns+" FROM `"+RevisionTable+"` WHERE `version` = ?", version)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RevisionTable, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", RevisionTable, err)
		}
		return nil, atlasmigrate.ErrRevisionNotExist
	}
	return scanRevision(rows)
}

// WriteRevision inserts or replaces the row of rev.Version. REPLACE INTO is
// understood by both MySQL and SQLite.
func (r *revisions) WriteRevision(ctx context.Context, rev *atlasmigrate.Revision) error {
	var partial sql.NullString
	if len(rev.PartialHashes) > 0 {
		b, err := json.Marshal(rev.PartialHashes)
		if err != nil {
			return err
		}
		partial = sql.NullString{String: string(b), Valid: true}
	}
	var errText, errStmt sql.NullString
	if rev.Error != "" {
		errText = sql.NullString{String: rev.Error, Valid: true}
	}
	if rev.ErrorStmt != "" {
		errStmt = sql.NullString{String: rev.ErrorStmt, Valid: true}
	}
	_, err := r.conn.ExecContext(ctx,
		"REPLACE INTO `"+RevisionTable+"` ("+revColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total,
		rev.ExecutedAt.UTC().Format(timeLayout), int64(rev.ExecutionTime),
		errText, errStmt, rev.Hash, partial, rev.OperatorVersion,
	)
	if err != nil {
		return fmt.Errorf("write %s %s: %w", RevisionTable, rev.Version, err)
	}
	return nil
}

func (r *revisions) DeleteRevision(ctx context.Context, version string) error {
	if _, err := r.conn.ExecContext(ctx, "DELETE FROM `"+RevisionTable+"` WHERE `version` = ?", version); err != nil {
		return fmt.Errorf("delete %s %s: %w", RevisionTable, version, err)
	}
	return nil
}

func scanRevision(rows *sql.Rows) (*atlasmigrate.Revision, error) {
	var (
		rev              atlasmigrate.Revision
		typ, execNanos   int64
		executedAt       string
		errText, errStmt sql.NullString
		partial          sql.NullString
	)
	if err := rows.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total,
		&executedAt, &execNanos, &errText, &errStmt, &rev.Hash, &partial, &rev.OperatorVersion); err != nil {
		return nil, fmt.Errorf("scan %s: %w", RevisionTable, err)
	}
	rev.Type = atlasmigrate.RevisionType(typ)
	rev.ExecutionTime = time.Duration(execNanos)
	rev.Error, rev.ErrorStmt = errText.String, errStmt.String
	rev.ExecutedAt = parseTime(executedAt)
	if partial.Valid && partial.String != "" && partial.String != "null" {
		if err := json.Unmarshal([]byte(partial.String), &rev.PartialHashes); err != nil {
			return nil, fmt.Errorf("scan %s %s: partial_hashes: %w", RevisionTable, rev.Version, err)
		}
	}
	return &rev, nil
}

// parseTime reads executed_at whether the driver handed it over as the text
// written (SQLite, MySQL without parseTime) or as a time.Time that
// database/sql formatted as RFC 3339 (MySQL with parseTime=true).
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{timeLayout, "2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t
		}
	}
	return time.Time{}
}
