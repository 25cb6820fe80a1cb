package graph

import (
	"context"

	"berth/app"
	"berth/auth"
	"berth/ent"
	"berth/ent/schematype"
	"berth/fault"
	"berth/gid"
	"berth/graph/model"
)

// canOperate says whether the caller may act on an app: admins may, and the
// app's operators, except change who the operators are.
func (r *Resolver) canOperate(ctx context.Context, appID gid.ID, changesOperators bool) error {
	p := auth.FromContext(ctx)
	if p == nil {
		return fault.Unauthenticated("log in first")
	}
	if p.IsAdmin() {
		return nil
	}
	if changesOperators {
		return fault.Forbidden("only admins may change an app's operators")
	}
	ok, err := p.Operates(ctx, appID)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Forbidden("only admins and the app's operators may act on this app")
	}
	return nil
}

func (r *mutationResolver) setRunState(ctx context.Context, id gid.ID, cmd string) (*ent.Task, error) {
	if err := r.canOperate(ctx, id, false); err != nil {
		return nil, err
	}
	return r.Apps.SetRunState(ctx, id, cmd, author(ctx), callerID(ctx))
}

func callerID(ctx context.Context) *gid.ID {
	if p := auth.FromContext(ctx); p != nil {
		return &p.User.ID
	}
	return nil
}

func portInputs(in []*model.PortInput) []app.PortInput {
	out := make([]app.PortInput, len(in))
	for i, p := range in {
		out[i] = app.PortInput{EnvVar: p.EnvVar, HostPort: p.HostPort}
		if p.Count != nil {
			out[i].Count = *p.Count
		}
		if p.Type != nil {
			out[i].Type = schematype.Protocol(*p.Type)
		}
	}
	return out
}

func envInputs(in []*model.EnvVarInput) map[string]string {
	out := make(map[string]string, len(in))
	for _, e := range in {
		out[e.Name] = e.Value
	}
	return out
}

func checklist(in []*model.ChecklistItemInput) []schematype.ChecklistItem {
	out := make([]schematype.ChecklistItem, len(in))
	for i, c := range in {
		out[i] = schematype.ChecklistItem{Text: c.Text, Done: c.Done}
	}
	return out
}

func int64Ptr(v *int) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}
