package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"berth/ent/schematype"
	"berth/gid"
)

// Command is a request to change the state of a running task or an active
// app. Any writer enqueues; only the worker holding the target's lock
// consumes, so each target has exactly one writer.
type Command struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (Command) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("cmd"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (Command) Fields() []ent.Field {
	return []ent.Field{
		// author says who asked: "user:<id>", "token:<id>", "cli", "system".
		field.String("author").
			NotEmpty(),
		// target is the ID of the task or app the command is for.
		field.String("target").
			NotEmpty().
			MaxLen(40),
		field.String("command").
			NotEmpty().
			MaxLen(32),
		field.JSON("properties", map[string]any{}).
			Optional(),
		field.Bool("is_consumed").
			Default(false),
		field.Time("consumed_at").SchemaType(datetime).
			Optional().
			Nillable(),
	}
}

// Indexes implements ent.Schema.
func (Command) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("target", "is_consumed"),
	}
}

// Annotations implements ent.Schema.
func (Command) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
	}
}
