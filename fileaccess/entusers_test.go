package fileaccess_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"berth/auth"
	"berth/ent"
	_ "berth/ent/runtime"
	"berth/ent/schematype"
	"berth/fileaccess"
	"berth/storage"
)

func TestEntUsers(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := auth.NewService(db.Client, auth.WithBcryptCost(bcrypt.MinCost))
	add := func(name string, role schematype.Role) *ent.User {
		u, err := a.AddUser(ctx, name, role, password)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	owner := add("owner", schematype.RoleOwner)
	admin := add("admin", schematype.RoleAdmin)
	op := add("op", schematype.RoleUser)
	plain := add("plain", schematype.RoleUser)
	disabled := add("disabled", schematype.RoleUser)
	demoted := add("demoted", schematype.RoleAdmin)

	wiki := db.Client.App.Create().SetLocation("wiki").SetImage("wiki:1").AddOperators(op, disabled, demoted).SaveX(ctx)
	blog := db.Client.App.Create().SetLocation("blog").SetImage("blog:1").SaveX(ctx)
	all := map[string]string{"wiki": wiki.ID.String(), "blog": blog.ID.String()}
	onlyWiki := map[string]string{"wiki": wiki.ID.String()}

	users := fileaccess.NewEntUsers(db.Client)

	t.Run("login", func(t *testing.T) {
		db.Client.User.UpdateOne(disabled).SetDisabled(true).ExecX(ctx)
		tests := []struct {
			user, pass string
			wantID     string
			wantAdmin  bool
			wantErr    error
		}{
			{user: "owner", pass: password, wantID: owner.ID.String(), wantAdmin: true},
			{user: "admin", pass: password, wantID: admin.ID.String(), wantAdmin: true},
			{user: "op", pass: password, wantID: op.ID.String()},
			{user: "op", pass: "wrong password", wantErr: fileaccess.ErrInvalidCredentials},
			{user: "ghost", pass: password, wantErr: fileaccess.ErrInvalidCredentials},
			{user: "disabled", pass: password, wantErr: fileaccess.ErrInvalidCredentials},
		}
		for _, tt := range tests {
			id, isAdmin, err := users.Login(ctx, tt.user, tt.pass)
			if !errors.Is(err, tt.wantErr) || id != tt.wantID || isAdmin != tt.wantAdmin {
				t.Errorf("Login(%s, %s) = %q, %v, %v; want %q, %v, %v",
					tt.user, tt.pass, id, isAdmin, err, tt.wantID, tt.wantAdmin, tt.wantErr)
			}
		}
	})

	t.Run("visible apps", func(t *testing.T) {
		// Changes after login apply: demoted lost admin, disabled is off.
		db.Client.User.UpdateOne(demoted).SetRole(schematype.RoleUser).ExecX(ctx)
		tests := []struct {
			user    *ent.User
			isAdmin bool // what the login said, possibly stale
			want    map[string]string
		}{
			{user: owner, isAdmin: true, want: all},
			{user: admin, isAdmin: true, want: all},
			{user: op, want: onlyWiki},
			{user: plain, want: map[string]string{}},
			{user: disabled, want: map[string]string{}},
			{user: demoted, isAdmin: true, want: onlyWiki},
		}
		for _, tt := range tests {
			got, err := users.VisibleApps(ctx, tt.user.ID.String(), tt.isAdmin)
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("VisibleApps(%s) = %v, %v; want %v", tt.user.Username, got, err, tt.want)
			}
		}
		got, err := users.VisibleApps(ctx, "user_gone", false)
		if err != nil || len(got) != 0 {
			t.Errorf("VisibleApps(deleted user) = %v, %v; want none", got, err)
		}
	})
}
