package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"berth/ent/schematype"
	"berth/gid"
)

// User is a person who logs in to berth.
type User struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("user"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("username").
			Unique().
			NotEmpty().
			MaxLen(64).
			Annotations(entgql.OrderField("USERNAME")),
		field.String("password_hash").
			Sensitive().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("role").
			GoType(schematype.Role("")).
			Default(string(schematype.RoleUser)).
			Annotations(entgql.OrderField("ROLE"), entgql.Type("Role")),
		field.Bool("disabled").
			Default(false),
	}
}

// Edges implements ent.Schema.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tokens", APIToken.Type).
			Annotations(entgql.Skip(entgql.SkipAll)),
		edge.From("operated_apps", App.Type).
			Ref("operators").
			Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("created_tasks", Task.Type).
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Annotations implements ent.Schema.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
	}
}
