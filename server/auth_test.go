package server_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"berth/ent/schematype"
	"berth/server"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

func TestLogin(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		env.AddUser(t, "alice", schematype.RoleAdmin)
		const login = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { username role } } }`

		tests := []struct {
			name, username, password string
			wantCode                 string
		}{
			{"wrong password", "alice", "not her password", "INVALID_CREDENTIALS"},
			{"unknown user", "mallory", "correct horse battery", "INVALID_CREDENTIALS"},
			{"empty", "", "", "INVALID_CREDENTIALS"},
			{"right password", "alice", "correct horse battery", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var out struct {
					Login struct {
						Token string
						User  struct{ Username, Role string }
					}
				}
				err := env.Anonymous().Do(context.Background(), login, map[string]any{"u": tt.username, "p": tt.password}, &out)
				if tt.wantCode != "" {
					errs, ok := err.(servertest.Errors)
					if !ok || !slices.Contains(errs.Codes(), tt.wantCode) {
						t.Fatalf("login error = %v, want code %s", err, tt.wantCode)
					}
					if out.Login.Token != "" {
						t.Fatalf("failed login returned a token")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(out.Login.Token, "berth_") || out.Login.User.Username != "alice" || out.Login.User.Role != "admin" {
					t.Fatalf("login = %+v", out.Login)
				}
			})
		}
	})
}

func TestSessionCookie(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		if _, err := env.Auth.AddUser(context.Background(), "bob", schematype.RoleUser, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		c := env.Anonymous()
		body := `{"query":"mutation { login(username: \"bob\", password: \"correct horse battery\") { user { username } } }"}`
		resp, err := c.HTTP.Post(c.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == server.SessionCookieName {
				cookie = ck
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.Value == "" || cookie.SameSite != http.SameSiteLaxMode {
			t.Fatalf("session cookie = %+v, want HttpOnly SameSite=Lax with a value", cookie)
		}

		// The cookie alone authenticates, as in the SPA.
		req, _ := http.NewRequest(http.MethodPost, c.URL, strings.NewReader(`{"query":"{ me { username } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(cookie)
		resp, err = c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf strings.Builder
		_, _ = io.Copy(&buf, resp.Body)
		if !strings.Contains(buf.String(), `"username":"bob"`) {
			t.Fatalf("me with cookie = %s", buf.String())
		}
	})
}

func TestTokens(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "root", schematype.RoleAdmin)
		ctx := context.Background()
		const create = `mutation($in: CreateAPITokenInput!) { createAPIToken(input: $in) { token apiToken { id name role expiresAt } } }`

		var made struct {
			CreateAPIToken struct {
				Token    string
				APIToken struct{ ID, Name, Role string }
			}
		}
		expires := env.Clock.Now().Add(time.Hour).Format(time.RFC3339)
		admin.MustDo(t, create, map[string]any{"in": map[string]any{"name": "ci", "role": "user", "expiresAt": expires}}, &made)
		if made.CreateAPIToken.APIToken.Role != "user" {
			t.Fatalf("token role = %q, want user", made.CreateAPIToken.APIToken.Role)
		}
		integration := env.Anonymous()
		integration.Token = made.CreateAPIToken.Token

		// The token acts with its own role, not its owner's.
		var me struct{ Me struct{ Username string } }
		integration.MustDo(t, `{ me { username } }`, nil, &me)
		if me.Me.Username != "root" {
			t.Fatalf("me = %q, want root", me.Me.Username)
		}
		if err := integration.Do(ctx, `{ locks { totalCount } }`, nil, nil); !hasCode(err, "FORBIDDEN") {
			t.Fatalf("user-role token reading locks: %v, want FORBIDDEN", err)
		}

		bad := []struct {
			name  string
			input map[string]any
			field string
		}{
			{"no name", map[string]any{"name": " "}, "name"},
			{"past expiry", map[string]any{"name": "x", "expiresAt": env.Clock.Now().Add(-time.Minute).Format(time.RFC3339)}, "expiresAt"},
			{"above own role", map[string]any{"name": "x", "role": "owner"}, "role"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				err := admin.Do(ctx, create, map[string]any{"in": tt.input}, nil)
				errs, ok := err.(servertest.Errors)
				if !ok || len(errs) != 1 || errs[0].Code() != "BAD_USER_INPUT" || errs[0].Field() != tt.field {
					t.Fatalf("error = %v, want BAD_USER_INPUT on %s", err, tt.field)
				}
			})
		}

		// Past its expiry the token stops working.
		env.Clock.Advance(time.Hour)
		if err := integration.Do(ctx, `{ me { username } }`, nil, nil); !hasCode(err, "UNAUTHENTICATED") {
			t.Fatalf("expired token: %v, want UNAUTHENTICATED", err)
		}

		// Logout ends the session it was made with, and only that one.
		other := env.Anonymous()
		var login struct{ Login struct{ Token string } }
		other.MustDo(t, `mutation { login(username: "root", password: "correct horse battery") { token } }`, nil, &login)
		other.Token = login.Login.Token
		admin.MustDo(t, `mutation { logout }`, nil, nil)
		if err := admin.Do(ctx, `{ me { username } }`, nil, nil); !hasCode(err, "UNAUTHENTICATED") {
			t.Fatalf("after logout: %v, want UNAUTHENTICATED", err)
		}
		other.MustDo(t, `{ me { username } }`, nil, nil)
	})
}

func hasCode(err error, code string) bool {
	errs, ok := err.(servertest.Errors)
	return ok && slices.Contains(errs.Codes(), code)
}

func TestChangePassword(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		alice := env.AddUser(t, "alice", schematype.RoleUser)
		other := env.Anonymous()
		var login struct{ Login struct{ Token string } }
		other.MustDo(t, `mutation { login(username: "alice", password: "correct horse battery") { token } }`, nil, &login)
		other.Token = login.Login.Token
		ctx := context.Background()
		const change = `mutation($cur: String!, $new: String!) { changePassword(currentPassword: $cur, newPassword: $new) }`
		tests := []struct {
			name, cur, new, code, field string
		}{
			{"wrong current", "nope", "a new password", "INVALID_CREDENTIALS", "currentPassword"},
			{"too short", "correct horse battery", "short", "BAD_USER_INPUT", "newPassword"},
		}
		for _, tt := range tests {
			err := alice.Do(ctx, change, map[string]any{"cur": tt.cur, "new": tt.new}, nil)
			errs, ok := err.(servertest.Errors)
			if !ok || errs[0].Code() != tt.code || errs[0].Field() != tt.field {
				t.Fatalf("%s: %v, want %s on %s", tt.name, err, tt.code, tt.field)
			}
		}
		alice.MustDo(t, change, map[string]any{"cur": "correct horse battery", "new": "a new password"}, nil)
		alice.MustDo(t, `{ me { username } }`, nil, nil) // this session goes on
		if err := other.Do(ctx, `{ me { username } }`, nil, nil); !hasCode(err, "UNAUTHENTICATED") {
			t.Fatalf("the other session after a password change: %v", err)
		}
		if err := env.Anonymous().Do(ctx, `mutation { login(username: "alice", password: "correct horse battery") { token } }`, nil, nil); !hasCode(err, "INVALID_CREDENTIALS") {
			t.Fatalf("the old password still works: %v", err)
		}
		env.Anonymous().MustDo(t, `mutation { login(username: "alice", password: "a new password") { token } }`, nil, nil)
	})
}
