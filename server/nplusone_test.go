package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/99designs/gqlgen/graphql"

	"berth/ent/schematype"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

// A nested query over many apps costs a constant number of SQL statements,
// not one or more per app.
func TestNestedQueryStatements(t *testing.T) {
	var statements atomic.Int64
	count := storagetest.WrapDriver(func(d dialect.Driver) dialect.Driver {
		// Only the statements of resolving GraphQL operations: the task
		// runner works on the same database in the background.
		return dialect.DebugWithContext(d, func(ctx context.Context, _ ...any) {
			if graphql.HasOperationContext(ctx) {
				statements.Add(1)
			}
		})
	})
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		ctx := context.Background()
		site := db.Client.BackupSite.Create().SetName("local").SetProvider("filesystem").SaveX(ctx)
		op := db.Client.User.Query().FirstX(ctx)

		const query = `{ apps(first: 100) { totalCount edges { node {
			id location portBindings { envVar } notes
			operators { username }
			backupSite { name }
			tasks(first: 3) { totalCount edges { node { id state } } }
		} } } }`
		measure := func(apps int) int64 {
			for i := db.Client.App.Query().CountX(ctx); i < apps; i++ {
				a := db.Client.App.Create().SetLocation(fmt.Sprintf("app%03d", i)).SetImage("img").
					SetBackupSite(site).AddOperators(op).SaveX(ctx)
				db.Client.Task.Create().SetType("install").SetApp(a).ExecX(ctx)
				db.Client.Task.Create().SetType("start").SetApp(a).ExecX(ctx)
			}
			before := statements.Load()
			var out struct{ Apps struct{ TotalCount int } }
			admin.MustDo(t, query, nil, &out)
			if out.Apps.TotalCount != apps {
				t.Fatalf("totalCount = %d, want %d", out.Apps.TotalCount, apps)
			}
			return statements.Load() - before
		}
		few, many := measure(10), measure(100)
		t.Logf("%s: %d SQL statements for the nested query over 100 apps", db.Dialect, many)
		if many != few || many > 10 {
			t.Fatalf("statements: %d for 10 apps, %d for 100; want the same small constant (<= 10)", few, many)
		}
	}, count)
}
