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

// APIToken is a bearer credential: a login session (kind session) or a token
// made for an integration (kind api). Only a hash of the secret is stored.
type APIToken struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (APIToken) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("tok"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (APIToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").
			Default("").
			MaxLen(128),
		field.Enum("kind").
			Values("session", "api"),
		field.String("secret_hash").
			Unique().
			Sensitive().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// hint is the start of the secret, enough to recognise a token in a list.
		field.String("hint").
			Default(""),
		field.Enum("role").
			GoType(schematype.Role("")).
			Annotations(entgql.Type("Role")),
		field.Time("expires_at").SchemaType(datetime).
			Optional().
			Nillable(),
		field.Time("last_used_at").SchemaType(datetime).
			Optional().
			Nillable(),
	}
}

// Edges implements ent.Schema.
func (APIToken) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", User.Type).
			Ref("tokens").
			Unique().
			Required(),
	}
}

// Annotations implements ent.Schema.
func (APIToken) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Type("APIToken"),
	}
}
