package graph

import (
	"context"
	"fmt"

	"berth/auth"
	"berth/ent"
	"berth/fault"
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
