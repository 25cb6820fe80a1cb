package graph

import (
	"context"
	"errors"
	"fmt"

	"berth/auth"
	"berth/ent"
	"berth/ent/apitoken"
	"berth/fault"
	"berth/gid"
)

// canRead says whether p may fetch n through node or nodes, which bypass the
// role checks on the list fields: apps and users are readable by every user,
// API tokens by their owner, everything else by admins.
func canRead(ctx context.Context, p *auth.Principal, n ent.Noder) error {
	switch n := n.(type) {
	case *ent.App, *ent.User:
		return nil
	case *ent.APIToken:
		owner, err := n.QueryOwner().OnlyID(ctx)
		if err != nil {
			return fmt.Errorf("owner of token %s: %w", n.ID, err)
		}
		if owner == p.User.ID {
			return nil
		}
	default:
		if p.IsAdmin() {
			return nil
		}
	}
	return fault.Forbidden("not allowed to read this object")
}

// readableTask loads a task the caller may see: admins see every task, the
// operators of an app that app's tasks.
func (r *Resolver) readableTask(ctx context.Context, id gid.ID) (*ent.Task, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, fault.Unauthenticated("log in first")
	}
	t, err := r.client(ctx).Task.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.IsAdmin() {
		return t, nil
	}
	appID, err := t.QueryApp().OnlyID(ctx)
	if ent.IsNotFound(err) {
		return nil, fault.Forbidden("only admins may see this task")
	}
	if err != nil {
		return nil, fmt.Errorf("app of task %s: %w", id, err)
	}
	if ok, err := p.Operates(ctx, appID); err != nil || !ok {
		return nil, errors.Join(fault.Forbidden("only admins and the app's operators may see this task"), err)
	}
	return t, nil
}

// author names the caller in commands it enqueues.
func author(ctx context.Context) string {
	p := auth.FromContext(ctx)
	switch {
	case p == nil:
		return "anonymous"
	case p.Token != nil && p.Token.Kind == apitoken.KindAPI:
		return fmt.Sprintf("%s (token %s)", p.User.Username, p.Token.Name)
	}
	return p.User.Username
}
