package graph

import (
	"context"
	"time"
)

// SessionCookie lets the login and logout mutations set and clear the
// browser's session cookie; the HTTP server puts one in the request context.
type SessionCookie interface {
	Set(secret string, expires time.Time)
	Clear()
}

type sessionCookieKey struct{}

// WithSessionCookie returns ctx carrying c.
func WithSessionCookie(ctx context.Context, c SessionCookie) context.Context {
	return context.WithValue(ctx, sessionCookieKey{}, c)
}

func sessionCookie(ctx context.Context) SessionCookie {
	c, _ := ctx.Value(sessionCookieKey{}).(SessionCookie)
	return c
}
