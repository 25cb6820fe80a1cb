// Package auth owns users, login sessions and API tokens, and says who is
// making a request and what they may see.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"berth/ent"
	"berth/ent/apitoken"
	"berth/ent/schematype"
	"berth/ent/user"
	"berth/fault"
	"berth/gid"
)

// SessionTTL is how long a login session lasts.
const SessionTTL = 30 * 24 * time.Hour

// secretPrefix starts every session and API token secret, so that leaked
// secrets are easy to recognise (and to scan for).
const secretPrefix = "berth_"

// lastUsedGranularity bounds how often a token's last_used_at is written:
// not on every request.
const lastUsedGranularity = time.Minute

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Service manages users and credentials.
type Service struct {
	client *ent.Client
	now    func() time.Time
	cost   int
	// dummyHash is compared against when a username is unknown, so that a
	// failed login takes as long whether or not the user exists. Made on
	// first use: hashing takes as long as a login should.
	dummyHash func() []byte
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the clock (tests move it to expire tokens).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithBcryptCost sets the password hashing cost (tests use the minimum).
func WithBcryptCost(cost int) Option { return func(s *Service) { s.cost = cost } }

// NewService returns a Service storing its data with client.
func NewService(client *ent.Client, opts ...Option) *Service {
	s := &Service{client: client, now: time.Now, cost: bcrypt.DefaultCost}
	for _, o := range opts {
		o(s)
	}
	s.dummyHash = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("berth-dummy-password"), s.cost)
		return h
	})
	return s
}

func (s *Service) clock() time.Time { return s.now().UTC() }

// db returns the transactional client of a GraphQL mutation when there is
// one, so that writes take part in the mutation's transaction.
func (s *Service) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return s.client
}

// ValidatePassword checks a new password.
func ValidatePassword(field, password string) error {
	switch {
	case len(password) < 8:
		return fault.Input(field, "must be at least 8 characters")
	case len(password) > 72:
		// bcrypt ignores what comes after 72 bytes.
		return fault.Input(field, "must be at most 72 bytes")
	}
	return nil
}

// AddUser creates a user.
func (s *Service) AddUser(ctx context.Context, username string, role schematype.Role, password string) (*ent.User, error) {
	if !usernamePattern.MatchString(username) {
		return nil, fault.Input("username", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if !role.Valid() {
		return nil, fault.Input("role", "must be owner, admin or user, not %q", role)
	}
	if err := ValidatePassword("password", password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u, err := s.db(ctx).User.Create().
		SetUsername(username).
		SetRole(role).
		SetPasswordHash(string(hash)).
		Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, fault.Conflict("username", "user %q exists already", username)
	}
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", username, err)
	}
	return u, nil
}

// EnsureOwner creates the owner "admin" with password when the database has
// no user at all. It reports whether it created one.
func (s *Service) EnsureOwner(ctx context.Context, password string) (bool, error) {
	n, err := s.db(ctx).User.Query().Count(ctx)
	if err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := s.AddUser(ctx, "admin", schematype.RoleOwner, password); err != nil {
		if errors.Is(err, fault.ErrConflict) {
			return false, nil // another process created it first
		}
		return false, err
	}
	return true, nil
}

// HasUsers reports whether any user exists.
func (s *Service) HasUsers(ctx context.Context) (bool, error) {
	return s.db(ctx).User.Query().Exist(ctx)
}

// Session is a login session just started.
type Session struct {
	// Secret is shown to the caller once; only its hash is stored.
	Secret    string
	User      *ent.User
	ExpiresAt time.Time
}

// Login checks a username and password and starts a session.
func (s *Service) Login(ctx context.Context, username, password string) (*Session, error) {
	bad := &fault.Error{Code: fault.CodeInvalidCredentials, Message: "invalid username or password"}
	u, err := s.db(ctx).User.Query().Where(user.Username(username)).Only(ctx)
	if ent.IsNotFound(err) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", username, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		return nil, bad
	}
	exp := s.clock().Add(SessionTTL)
	secret, _, err := s.issue(ctx, u, apitoken.KindSession, "login", u.Role, exp)
	if err != nil {
		return nil, err
	}
	return &Session{Secret: secret, User: u, ExpiresAt: exp}, nil
}

// ChangePassword sets a new password for p's user after checking the
// current one. The user's other sessions end; API tokens stay.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	if p == nil {
		return fault.Unauthenticated("log in first")
	}
	u, err := s.db(ctx).User.Get(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(current)) != nil {
		return &fault.Error{Code: fault.CodeInvalidCredentials, Field: "currentPassword", Message: "the current password is wrong"}
	}
	if err := ValidatePassword("newPassword", next); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), s.cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := s.db(ctx).User.UpdateOne(u).SetPasswordHash(string(hash)).Exec(ctx); err != nil {
		return fmt.Errorf("store password of %s: %w", u.Username, err)
	}
	sessions := s.db(ctx).APIToken.Delete().Where(apitoken.HasOwnerWith(user.ID(u.ID)), apitoken.KindEQ(apitoken.KindSession))
	if p.Token != nil {
		sessions.Where(apitoken.IDNEQ(p.Token.ID))
	}
	if _, err := sessions.Exec(ctx); err != nil {
		return fmt.Errorf("end other sessions of %s: %w", u.Username, err)
	}
	return nil
}

// Logout ends the session the principal authenticated with.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p == nil || p.Token == nil {
		return fault.Unauthenticated("not logged in")
	}
	if err := s.db(ctx).APIToken.DeleteOneID(p.Token.ID).Exec(ctx); err != nil && !ent.IsNotFound(err) {
		return fmt.Errorf("delete session %s: %w", p.Token.ID, err)
	}
	return nil
}

// CreateAPIToken makes a token for an integration acting as p's user, with
// at most p's role. It returns the secret, shown once.
func (s *Service) CreateAPIToken(ctx context.Context, p *Principal, name string, role *schematype.Role, expiresAt *time.Time) (string, *ent.APIToken, error) {
	if p == nil {
		return "", nil, fault.Unauthenticated("log in to create a token")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 128 {
		return "", nil, fault.Input("name", "must be 1-128 characters")
	}
	r := p.Role
	if role != nil {
		if !role.Valid() {
			return "", nil, fault.Input("role", "unknown role %q", *role)
		}
		if !p.Role.AtLeast(*role) {
			return "", nil, fault.Input("role", "cannot exceed your own role %s", p.Role)
		}
		r = *role
	}
	var exp time.Time
	if expiresAt != nil {
		if !expiresAt.After(s.clock()) {
			return "", nil, fault.Input("expiresAt", "must be in the future")
		}
		exp = expiresAt.UTC()
	}
	return s.issue(ctx, p.User, apitoken.KindAPI, name, r, exp)
}

func (s *Service) issue(ctx context.Context, u *ent.User, kind apitoken.Kind, name string, role schematype.Role, expiresAt time.Time) (string, *ent.APIToken, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, fmt.Errorf("generate secret: %w", err)
	}
	secret := secretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	create := s.db(ctx).APIToken.Create().
		SetOwner(u).
		SetKind(kind).
		SetName(name).
		SetRole(role).
		SetSecretHash(hashSecret(secret)).
		SetHint(secret[:len(secretPrefix)+4])
	if !expiresAt.IsZero() {
		create.SetExpiresAt(expiresAt)
	}
	tok, err := create.Save(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("store %s token: %w", kind, err)
	}
	return secret, tok, nil
}

// hashSecret hashes a token secret for storage. The secrets are 256 random
// bits, so a fast hash suffices: there is nothing to brute-force.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the principal a session or API token secret stands
// for. An unknown, expired or revoked secret, or a disabled user, is
// UNAUTHENTICATED.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, secretPrefix) {
		return nil, fault.Unauthenticated("invalid token")
	}
	tok, err := s.db(ctx).APIToken.Query().
		Where(apitoken.SecretHash(hashSecret(secret))).
		WithOwner().
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.Unauthenticated("invalid or revoked token")
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	now := s.clock()
	if tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
		return nil, fault.Unauthenticated("token expired")
	}
	u := tok.Edges.Owner
	if u.Disabled {
		return nil, fault.Unauthenticated("user disabled")
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= lastUsedGranularity {
		if err := s.db(ctx).APIToken.UpdateOneID(tok.ID).SetLastUsedAt(now).Exec(ctx); err != nil {
			return nil, fmt.Errorf("record token use: %w", err)
		}
	}
	role := tok.Role
	if !u.Role.AtLeast(role) {
		role = u.Role // a demoted user's old tokens lose the extra rights
	}
	return &Principal{User: u, Token: tok, Role: role}, nil
}

// Principal is who a request acts as.
type Principal struct {
	User  *ent.User
	Token *ent.APIToken
	Role  schematype.Role

	operatedOnce sync.Once
	operated     map[gid.ID]bool
	operatedErr  error
}

// IsAdmin reports whether the principal is an admin or the owner.
func (p *Principal) IsAdmin() bool { return p != nil && p.Role.AtLeast(schematype.RoleAdmin) }

// Operates reports whether the principal is an operator of the app. The
// operated apps are loaded once per principal (one query per request).
func (p *Principal) Operates(ctx context.Context, appID gid.ID) (bool, error) {
	if p == nil {
		return false, nil
	}
	p.operatedOnce.Do(func() {
		ids, err := p.User.QueryOperatedApps().IDs(ctx)
		if err != nil {
			p.operatedErr = fmt.Errorf("load operated apps of %s: %w", p.User.Username, err)
			return
		}
		p.operated = make(map[gid.ID]bool, len(ids))
		for _, id := range ids {
			p.operated[id] = true
		}
	})
	return p.operated[appID], p.operatedErr
}

// CanSeePrivate reports whether the principal may read the private fields
// of an app (notes, env): admins and the app's operators may.
func (p *Principal) CanSeePrivate(ctx context.Context, appID gid.ID) (bool, error) {
	if p.IsAdmin() {
		return true, nil
	}
	return p.Operates(ctx, appID)
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, or nil for an anonymous request.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Require returns the principal of ctx if it has at least role min.
func Require(ctx context.Context, min schematype.Role) (*Principal, error) {
	p := FromContext(ctx)
	if p == nil {
		return nil, fault.Unauthenticated("log in first")
	}
	if !p.Role.AtLeast(min) {
		return nil, fault.Forbidden("needs role %s, you have %s", min, p.Role)
	}
	return p, nil
}
