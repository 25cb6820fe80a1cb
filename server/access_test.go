package server_test

import (
	"context"
	"testing"

	"berth/ent/schematype"
	"berth/ent/user"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

// Private fields and admin-only lists, for each kind of caller.
func TestRoleAwareFields(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		ctx := context.Background()
		clients := map[string]*servertest.Client{
			"owner":     env.AddUser(t, "olivia", schematype.RoleOwner),
			"admin":     env.AddUser(t, "adam", schematype.RoleAdmin),
			"operator":  env.AddUser(t, "oscar", schematype.RoleUser),
			"user":      env.AddUser(t, "ursula", schematype.RoleUser),
			"anonymous": env.Anonymous(),
		}
		operatorID := db.Client.User.Query().Where(user.Username("oscar")).OnlyIDX(ctx)
		app := db.Client.App.Create().
			SetLocation("wiki").
			SetImage("berth-test/busybox:1").
			SetNotes("root password is hunter2").
			SetEnv(map[string]string{"SECRET": "s3cret"}).
			AddOperatorIDs(operatorID).
			SaveX(ctx)
		task := db.Client.Task.Create().SetType("diagnostic").SetApp(app).SaveX(ctx)

		tests := []struct {
			caller       string
			seesNotes    bool
			seesTasks    bool // App.tasks and the tasks list
			wantAppsCode string
		}{
			{caller: "owner", seesNotes: true, seesTasks: true},
			{caller: "admin", seesNotes: true, seesTasks: true},
			{caller: "operator", seesNotes: true, seesTasks: true},
			{caller: "user", seesNotes: false},
			{caller: "anonymous", wantAppsCode: "UNAUTHENTICATED"},
		}
		for _, tt := range tests {
			t.Run(tt.caller, func(t *testing.T) {
				c := clients[tt.caller]
				var out struct {
					Apps struct {
						Edges []struct {
							Node struct {
								Notes *string
								Env   []struct{ Name, Value string }
							}
						}
					}
				}
				err := c.Do(ctx, `{ apps { edges { node { notes env { name value } } } } }`, nil, &out)
				if tt.wantAppsCode != "" {
					if !hasCode(err, tt.wantAppsCode) {
						t.Fatalf("apps: %v, want %s", err, tt.wantAppsCode)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				n := out.Apps.Edges[0].Node
				if tt.seesNotes {
					if n.Notes == nil || *n.Notes != "root password is hunter2" || len(n.Env) != 1 {
						t.Fatalf("notes = %v, env = %v; want both", n.Notes, n.Env)
					}
				} else if n.Notes != nil || n.Env != nil {
					t.Fatalf("notes = %q, env = %v; want null for a normal user", *n.Notes, n.Env)
				}

				err = c.Do(ctx, `{ apps { edges { node { tasks { totalCount } } } } }`, nil, nil)
				if tt.seesTasks != (err == nil) {
					t.Fatalf("App.tasks: err = %v, want visible = %v", err, tt.seesTasks)
				}
				if !tt.seesTasks && !hasCode(err, "FORBIDDEN") {
					t.Fatalf("App.tasks: %v, want FORBIDDEN", err)
				}

				// node() must not bypass the list's role check.
				err = c.Do(ctx, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": task.ID}, nil)
				isAdmin := tt.caller == "owner" || tt.caller == "admin"
				if isAdmin != (err == nil) {
					t.Fatalf("node(task): err = %v, want allowed = %v", err, isAdmin)
				}
				err = c.Do(ctx, `{ tasks { totalCount } }`, nil, nil)
				if isAdmin != (err == nil) {
					t.Fatalf("tasks: err = %v, want allowed = %v", err, isAdmin)
				}
			})
		}
	})
}
