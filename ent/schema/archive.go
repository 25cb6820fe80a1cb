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

// Archive keeps an uninstalled app restorable: it points at one app backup
// and holds what only archives need. Unarchiving restores into a new app.
type Archive struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (Archive) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("arc"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (Archive) Fields() []ent.Field {
	return []ent.Field{
		field.Bytes("icon").
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bytes("app_store_icon").
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.JSON("app_config", &schematype.AppConfig{}).
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges implements ent.Schema.
func (Archive) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("backup", Backup.Type).
			Ref("archive").
			Unique().
			Required(),
	}
}

// Annotations implements ent.Schema.
func (Archive) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
	}
}
