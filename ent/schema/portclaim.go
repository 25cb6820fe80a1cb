package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"berth/gid"
)

// PortClaim reserves one host port for one app. The unique index makes two
// apps asking for the same port at the same moment conflict in the
// database, not only in a check that both pass.
type PortClaim struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (PortClaim) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("port")}
}

// Fields implements ent.Schema.
func (PortClaim) Fields() []ent.Field {
	return []ent.Field{
		field.Int("port").Range(1, 65535),
		field.Enum("proto").Values("tcp", "udp"),
		field.String("env_var").NotEmpty().MaxLen(128),
	}
}

// Edges implements ent.Schema.
func (PortClaim) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("app", App.Type).Ref("port_claims").Unique().Required(),
	}
}

// Indexes implements ent.Schema.
func (PortClaim) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("port", "proto").Unique(),
	}
}

// Annotations implements ent.Schema.
func (PortClaim) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll), entsql.Annotation{}}
}
