package schema

import (
	"entgo.io/contrib/entgql"
	"github.com/vektah/gqlparser/v2/ast"

	"berth/ent/schematype"
)

// hasRole marks a GraphQL field as readable only by callers with at least
// the given role; the server enforces it (graph/directive.go).
func hasRole(r schematype.Role) entgql.Directive {
	return entgql.NewDirective("hasRole", &ast.Argument{
		Name:  "role",
		Value: &ast.Value{Raw: string(r), Kind: ast.EnumValue},
	})
}

// appPrivate marks a field of App readable only by admins and the app's
// operators: others get null (or FORBIDDEN where the field cannot be null).
func appPrivate() entgql.Directive {
	return entgql.NewDirective("appPrivate")
}
