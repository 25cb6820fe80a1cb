package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// depthLimit rejects operations nested deeper than max fields, before they
// run. Introspection is exempt: its standard query is deep but cheap.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, 0, map[string]bool{}); depth > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("query is %d levels deep, at most %d allowed", depth, d.max),
			Extensions: map[string]any{"code": codeTooDeep},
		}
	}
	return nil
}

func selectionDepth(set ast.SelectionSet, depth int, seen map[string]bool) int {
	deepest := depth
	for _, sel := range set {
		var d int
		switch sel := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(sel.Name, "__") {
				continue
			}
			d = selectionDepth(sel.SelectionSet, depth+1, seen)
		case *ast.InlineFragment:
			d = selectionDepth(sel.SelectionSet, depth, seen)
		case *ast.FragmentSpread:
			if sel.Definition == nil || seen[sel.Name] {
				continue // cycles are rejected by validation anyway
			}
			seen[sel.Name] = true
			d = selectionDepth(sel.Definition.SelectionSet, depth, seen)
			delete(seen, sel.Name)
		}
		deepest = max(deepest, d)
	}
	return deepest
}
