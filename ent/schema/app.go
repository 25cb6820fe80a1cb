package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"berth/ent/schematype"
	"berth/gid"
)

// App is an installed containerised application.
type App struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (App) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("app"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (App) Fields() []ent.Field {
	return []ent.Field{
		// location is where the app is reached (its subdomain); unique.
		field.String("location").
			Unique().
			NotEmpty().
			MaxLen(191).
			Annotations(entgql.OrderField("LOCATION")),
		field.String("image").
			NotEmpty().
			Annotations(entgql.OrderField("IMAGE")),
		field.Enum("installation_state").
			Values(
				"pending_install",
				"pending_configure",
				"pending_update",
				"pending_restore",
				"pending_clone",
				"pending_uninstall",
				"installed",
				"error",
			).
			Default("pending_install").
			Annotations(entgql.OrderField("INSTALLATION_STATE")),
		field.Enum("run_state").
			Values("running", "stopped").
			Default("stopped").
			Annotations(entgql.OrderField("RUN_STATE")),
		// error is set while installation_state is error: what failed, at which step.
		field.JSON("error", &schematype.Failure{}).
			Optional().
			Annotations(entgql.Type("Failure")),
		// port_bindings maps an environment variable to its published port.
		// GraphQL shows it as a list (graph/app.graphqls).
		field.JSON("port_bindings", schematype.PortBindings{}).
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// env may hold secrets: not in the generated GraphQL type; the
		// resolver filters it by role.
		field.JSON("env", map[string]string{}).
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// cpu_quota is a hard CPU limit, percent of the whole machine.
		field.Int("cpu_quota").
			Default(100).
			Range(1, 100),
		// memory_limit is in bytes: past 2^31, hence the Int64 scalar.
		field.Int64("memory_limit").
			Default(256 << 20).
			Positive().
			Annotations(entgql.Type("Int64")),
		// notes are private: only admins and the app's operators read them,
		// through the role-aware resolver, never through a filter.
		// No column default: MySQL 8 allows none on TEXT.
		field.Text("notes").
			Optional().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.JSON("checklist", []schematype.ChecklistItem{}).
			Optional().
			Annotations(entgql.Type("[ChecklistItem!]")),
		// mail_server_fqdn makes the app see the mail server by its full name.
		field.Bool("mail_server_fqdn").
			Default(false),
		field.String("container_id").
			Optional().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Edges implements ent.Schema.
func (App) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("operators", User.Type),
		// backup_site, when set, is where this app's backups go; the full
		// backup then references the app's latest backup instead.
		edge.To("backup_site", BackupSite.Type).
			Unique().
			Annotations(entgql.Directives(hasRole(schematype.RoleAdmin))),
		edge.To("tasks", Task.Type).
			Annotations(entgql.RelayConnection(), entgql.Directives(appPrivate())),
		// Filters on backups and exec runs would let anyone probe their
		// contents, so they have none.
		edge.To("backups", Backup.Type).
			Annotations(entgql.RelayConnection(), entgql.Directives(appPrivate()), entgql.Skip(entgql.SkipWhereInput)),
		edge.To("volume_mounts", VolumeMount.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
		edge.To("port_claims", PortClaim.Type).
			Annotations(entgql.Skip(entgql.SkipAll), entsql.OnDelete(entsql.Cascade)),
		edge.To("exec_runs", ExecRun.Type).
			Annotations(entgql.RelayConnection(), entgql.Directives(appPrivate()), entgql.Skip(entgql.SkipWhereInput),
				entsql.OnDelete(entsql.Cascade)),
	}
}

// Annotations implements ent.Schema.
func (App) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleUser)),
		entgql.RelayConnection(),
		entgql.MultiOrder(),
	}
}
