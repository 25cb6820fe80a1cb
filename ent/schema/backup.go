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

// Backup is one backup of an app, or a full backup of the box that
// references app backups. It counts as good only in state complete.
type Backup struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (Backup) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("bak"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (Backup) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").
			Values("app", "full"),
		field.Enum("state").
			Values("creating", "complete", "failed").
			Default("creating"),
		field.String("remote_path").
			Default(""),
		field.Int64("size").
			Default(0).
			Annotations(entgql.OrderField("SIZE"), entgql.Type("Int64")),
		// image is the app's image when the backup was made.
		field.String("image").
			Optional(),
		// app_config is the app's configuration when the backup was made.
		// Backups made before it was recorded have none and cannot be archived.
		field.JSON("app_config", &schematype.AppConfig{}).
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.JSON("error", &schematype.Failure{}).
			Optional().
			Annotations(entgql.Type("Failure")),
		field.Time("finished_at").SchemaType(datetime).
			Optional().
			Nillable(),
	}
}

// Edges implements ent.Schema.
func (Backup) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("app", App.Type).
			Ref("backups").
			Unique(),
		edge.From("site", BackupSite.Type).
			Ref("backups").
			Unique().
			Required(),
		// parts of a full backup: the app backups it references.
		edge.To("parts", Backup.Type).
			From("full_backups"),
		edge.To("archive", Archive.Type).
			Unique(),
	}
}

// Indexes implements ent.Schema.
func (Backup) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("state", "created_at"),
	}
}

// Annotations implements ent.Schema.
func (Backup) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
	}
}
