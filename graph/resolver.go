// Package graph holds berth's GraphQL resolvers. The schema is in
// graph/schema; the generated executor in graph/generated.
package graph

import (
	"context"
	"io"
	"log/slog"
	"time"

	"berth/app"
	"berth/command"
	"berth/gid"
	"berth/service"
	"berth/task"

	"berth/auth"
	"berth/ent"
	"berth/graph/generated"
)

// Resolver holds what the resolvers need. Mutations run in a transaction
// (entgql.Transactioner), so resolvers reach the database through
// client(ctx), never r.Client directly.
type Resolver struct {
	Client *ent.Client
	Auth   *auth.Service
	Apps   *app.Service
	// Logs reads app containers' output.
	Logs interface {
		Logs(ctx context.Context, id string, follow bool, tail int) (io.ReadCloser, error)
	}
	Tasks    *task.Service
	Commands *command.Queue
	Feed     *task.Feed
	// MetricSamples reads stored resource samples (metrics.Collector).
	MetricSamples interface {
		Query(ctx context.Context, appID *gid.ID, from, to time.Time) ([]*ent.MetricSample, error)
	}
	Builtins *service.Manager
	// TaskLogDir holds the logs of the tasks this server's runner ran.
	TaskLogDir string
	Log        *slog.Logger
}

// NewSchema returns the executable schema with its resolvers and directives.
func NewSchema(r *Resolver) generated.Config {
	return generated.Config{
		Resolvers: r,
		Directives: generated.DirectiveRoot{
			HasRole:    hasRole,
			AppPrivate: appPrivate,
		},
	}
}

// client returns the transaction of the current mutation, or the plain
// client for queries.
func (r *Resolver) client(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return r.Client
}
