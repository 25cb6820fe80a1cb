package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"berth/ent/schematype"
	"berth/gid"
)

// Lock is one named lock, shared by every berth process on every host that
// uses the database. It is only ever written by a compare-and-set on
// version; the version a holder acquired is its fencing token.
type Lock struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (Lock) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("lock"), TimeMixin{}}
}

// Fields implements ent.Schema.
func (Lock) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").
			Unique().
			NotEmpty().
			MaxLen(191).
			Immutable().
			Annotations(entgql.OrderField("KEY")),
		field.Int64("version").
			Default(0),
		// holder is the task holding the lock; empty when free.
		field.String("holder").
			Default(""),
		field.Int("holder_pid").
			Optional().
			Nillable(),
		field.String("holder_host").
			Default(""),
		field.Time("acquired_at").SchemaType(datetime).
			Optional().
			Nillable(),
		// expires_at ends the holder's lease unless it renews it.
		field.Time("expires_at").SchemaType(datetime).
			Optional().
			Nillable(),
	}
}

// Annotations implements ent.Schema.
func (Lock) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole(schematype.RoleAdmin)),
		entgql.RelayConnection(),
	}
}
