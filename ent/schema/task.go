package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"berth/ent/schematype"
	"berth/gid"
)

// Task is one long operation, run by the runner in a subprocess of its own.
type Task struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (Task) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("task"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (Task) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("type").
			Values(
				"install", "configure", "start", "stop", "restart", "update",
				"uninstall", "backup", "restore", "clone", "unarchive",
				"full_backup", "exec", "diagnostic",
			).
			Immutable().
			Annotations(entgql.OrderField("TYPE")),
		field.Enum("state").
			Values("pending", "waiting", "running", "succeeded", "failed", "cancelled", "crashed").
			Default("pending").
			Annotations(entgql.OrderField("STATE")),
		field.Int("percent").
			Default(0).
			Range(0, 100),
		field.String("message").
			Default("").
			MaxLen(255),
		// log_lines counts the lines of the task's log so far.
		field.Int("log_lines").
			Default(0),
		field.JSON("error", &schematype.Failure{}).
			Optional().
			Annotations(entgql.Type("Failure")),
		field.JSON("result", map[string]any{}).
			Optional(),
		// args are the operation's inputs; they may hold secrets.
		field.JSON("args", map[string]any{}).
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// priority orders queued tasks: what a person started goes before
		// what a schedule started.
		field.Int("priority").
			Default(0),
		field.JSON("lock_keys", []string{}).
			Optional().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		field.Int("pid").
			Optional().
			Nillable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		field.String("host").
			Optional().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		field.Time("deadline").SchemaType(datetime).
			Optional().
			Nillable(),
		field.Time("started_at").SchemaType(datetime).
			Optional().
			Nillable().
			Annotations(entgql.OrderField("STARTED_AT")),
		field.Time("finished_at").SchemaType(datetime).
			Optional().
			Nillable().
			Annotations(entgql.OrderField("FINISHED_AT")),
	}
}

// Edges implements ent.Schema.
func (Task) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("app", App.Type).
			Ref("tasks").
			Unique(),
		edge.From("created_by", User.Type).
			Ref("created_tasks").
			Unique(),
	}
}

// Indexes implements ent.Schema.
func (Task) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("state", "priority", "created_at"),
	}
}

// Annotations implements ent.Schema.
func (Task) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
		entgql.MultiOrder(),
	}
}
