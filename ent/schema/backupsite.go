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

// BackupSite is a place backups go to, with its own format, encryption,
// schedule and retention. Any number of sites may exist.
type BackupSite struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (BackupSite) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("site"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (BackupSite) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").
			Unique().
			NotEmpty().
			MaxLen(128).
			Annotations(entgql.OrderField("NAME")),
		field.Enum("provider").
			Values("filesystem"),
		// config holds the provider's settings (for filesystem: path).
		field.JSON("config", map[string]string{}).
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("format").
			Values("tgz", "rsync").
			Default("tgz"),
		// encryption_passphrase is never shown; GraphQL exposes only whether
		// one is set.
		field.String("encryption_passphrase").
			Optional().
			Sensitive().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// schedule is a cron expression; empty means manual backups only.
		field.String("schedule").
			Default(""),
		field.JSON("retention", schematype.Retention{}).
			Optional().
			Annotations(entgql.Type("Retention")),
		// enable_for_updates sends the pre-update backup to this site.
		field.Bool("enable_for_updates").
			Default(false),
	}
}

// Edges implements ent.Schema.
func (BackupSite) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("apps", App.Type).
			Ref("backup_site"),
		edge.To("backups", Backup.Type).
			Annotations(entgql.RelayConnection()),
	}
}

// Annotations implements ent.Schema.
func (BackupSite) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
	}
}
