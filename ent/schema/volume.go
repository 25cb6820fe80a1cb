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

// Volume is storage an admin makes available to apps: a host directory or
// a share (NFS, CIFS) the host has mounted already.
type Volume struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (Volume) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("vol"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (Volume) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").
			Unique().
			NotEmpty().
			MaxLen(64).
			Annotations(entgql.OrderField("NAME")),
		field.String("host_path").
			NotEmpty().
			MaxLen(1024),
		// kind says how to tell whether the volume is usable: a directory
		// must exist; a share must also be mounted there.
		field.Enum("kind").
			Values("directory", "nfs", "cifs"),
	}
}

// Edges implements ent.Schema.
func (Volume) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("mounts", VolumeMount.Type).
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Annotations implements ent.Schema.
func (Volume) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
	}
}

// VolumeMount attaches a volume to an app, read-only or read-write, at a
// path in the app's container.
type VolumeMount struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (VolumeMount) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("vmnt")}
}

// Fields implements ent.Schema.
func (VolumeMount) Fields() []ent.Field {
	return []ent.Field{
		field.String("target").
			NotEmpty().
			MaxLen(512),
		field.Bool("read_only").
			Default(false),
	}
}

// Edges implements ent.Schema.
func (VolumeMount) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("app", App.Type).
			Ref("volume_mounts").
			Unique().
			Required(),
		// A volume in use cannot be deleted (no cascade).
		edge.From("volume", Volume.Type).
			Ref("mounts").
			Unique().
			Required(),
	}
}

// Indexes implements ent.Schema.
func (VolumeMount) Indexes() []ent.Index {
	return []ent.Index{
		index.Edges("app", "volume").Unique(),
	}
}

// Annotations implements ent.Schema.
func (VolumeMount) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
