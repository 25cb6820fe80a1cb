package fileaccess

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"berth/ent"
	entapp "berth/ent/app"
	"berth/ent/schematype"
	entuser "berth/ent/user"
	"berth/gid"
)

// EntUsers implements Users over berth's database.
//
// It checks passwords itself rather than through auth.Service.Login, which
// would leave a 30-day login session behind for every SFTP connection.
type EntUsers struct {
	client *ent.Client
	// dummyHash is compared against when a username is unknown, so that a
	// failed login takes as long whether or not the user exists.
	dummyHash func() []byte
}

// NewEntUsers returns Users reading berth's users and apps from client.
func NewEntUsers(client *ent.Client) *EntUsers {
	return &EntUsers{
		client: client,
		dummyHash: sync.OnceValue(func() []byte {
			h, _ := bcrypt.GenerateFromPassword([]byte("berth-dummy-password"), bcrypt.DefaultCost)
			return h
		}),
	}
}

// Login implements Users.
func (e *EntUsers) Login(ctx context.Context, username, password string) (string, bool, error) {
	u, err := e.client.User.Query().Where(entuser.Username(username)).Only(ctx)
	if ent.IsNotFound(err) {
		_ = bcrypt.CompareHashAndPassword(e.dummyHash(), []byte(password))
		return "", false, ErrInvalidCredentials
	}
	if err != nil {
		return "", false, fmt.Errorf("find user %s: %w", username, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		return "", false, ErrInvalidCredentials
	}
	return u.ID.String(), u.Role.AtLeast(schematype.RoleAdmin), nil
}

// VisibleApps implements Users. It reads the user again rather than trusting
// isAdmin from the login, so that disabling, deleting or demoting a user
// takes effect in sessions already open.
func (e *EntUsers) VisibleApps(ctx context.Context, userID string, _ bool) (map[string]string, error) {
	u, err := e.client.User.Get(ctx, gid.ID(userID))
	if ent.IsNotFound(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", userID, err)
	}
	if u.Disabled {
		return map[string]string{}, nil
	}
	q := e.client.App.Query()
	if !u.Role.AtLeast(schematype.RoleAdmin) {
		q = u.QueryOperatedApps()
	}
	apps, err := q.Select(entapp.FieldLocation).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list apps of %s: %w", u.Username, err)
	}
	m := make(map[string]string, len(apps))
	for _, a := range apps {
		m[a.Location] = a.ID.String()
	}
	return m, nil
}

// VisibleVolumes implements Users: admins see every volume.
func (e *EntUsers) VisibleVolumes(ctx context.Context, userID string, _ bool) (map[string]string, error) {
	u, err := e.client.User.Get(ctx, gid.ID(userID))
	if ent.IsNotFound(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", userID, err)
	}
	if u.Disabled || !u.Role.AtLeast(schematype.RoleAdmin) {
		return map[string]string{}, nil
	}
	vols, err := e.client.Volume.Query().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	m := make(map[string]string, len(vols))
	for _, v := range vols {
		m[v.Name] = v.HostPath
	}
	return m, nil
}
