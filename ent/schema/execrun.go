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

// ExecRun records one run of a command inside an app's container. For an
// at-most-once exec it is the memory that the run happened: keyed by
// container and name, written before the run starts.
type ExecRun struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (ExecRun) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("exec"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (ExecRun) Fields() []ent.Field {
	return []ent.Field{
		// container_id identifies the container instance; a recreated
		// container has a new one.
		field.String("container_id").
			NotEmpty().
			MaxLen(80),
		field.String("name").
			NotEmpty().
			MaxLen(128).
			Annotations(entgql.OrderField("NAME")),
		field.Bool("once").
			Default(false),
		// once_key is "<container_id>/<name>" for an at-most-once run and
		// NULL otherwise: the unique index lets only one such run exist. A
		// forced re-run takes the key over from the old run.
		field.String("once_key").
			Optional().
			Nillable().
			Unique().
			MaxLen(191).
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("command").
			NotEmpty(),
		// args and env are the effective values, after substitution.
		field.JSON("args", []string{}).
			Optional(),
		field.JSON("env", map[string]string{}).
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("state").
			Values("starting", "finished", "lost").
			Default("starting"),
		field.Int("exit_code").
			Optional().
			Nillable(),
		// No column defaults: MySQL 8 allows none on TEXT.
		field.Text("stdout").
			Optional().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		field.Text("stderr").
			Optional().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		// output_cap is the most bytes of stdout and of stderr kept.
		field.Int("output_cap").
			Default(0),
		field.Bool("truncated").
			Default(false),
		field.Time("started_at").SchemaType(datetime).
			Optional().
			Nillable(),
		field.Time("finished_at").SchemaType(datetime).
			Optional().
			Nillable(),
	}
}

// Edges implements ent.Schema.
func (ExecRun) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("app", App.Type).
			Ref("exec_runs").
			Unique().
			Required(),
		// task is the task that runs (or ran) the command.
		edge.To("task", Task.Type).
			Unique(),
	}
}

// Indexes implements ent.Schema.
func (ExecRun) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("container_id", "name"),
	}
}

// Annotations implements ent.Schema.
func (ExecRun) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
	}
}
