package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"berth/auth"
	"berth/ent"
	"berth/ent/schematype"
	"berth/fault"
)

// hasRole implements @hasRole.
func hasRole(ctx context.Context, _ any, next graphql.Resolver, role schematype.Role) (any, error) {
	if _, err := auth.Require(ctx, role); err != nil {
		return nil, err
	}
	return next(ctx)
}

// appPrivate implements @appPrivate: the one place that decides who reads
// an app's private fields.
func appPrivate(ctx context.Context, obj any, next graphql.Resolver) (any, error) {
	a, ok := obj.(*ent.App)
	if !ok {
		return nil, fmt.Errorf("@appPrivate on %T, want *ent.App", obj)
	}
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, fault.Unauthenticated("log in first")
	}
	allowed, err := p.CanSeePrivate(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	if allowed {
		return next(ctx)
	}
	if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Field.Definition.Type.NonNull {
		return nil, fault.Forbidden("only admins and the app's operators may read %s", fc.Field.Name)
	}
	return nil, nil
}
