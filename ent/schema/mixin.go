package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

// datetime is the column type of every time field. On MySQL it is
// DATETIME(6): TIMESTAMP stops in 2038 and drops the sub-second precision
// that ordering of tasks relies on.
var datetime = map[string]string{dialect.MySQL: "datetime(6)"}

// TimeMixin adds creation and update times.
type TimeMixin struct {
	mixin.Schema
}

// Fields implements ent.Mixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").SchemaType(datetime).
			Default(now).
			Immutable().
			Annotations(entgql.OrderField("CREATED_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("updated_at").SchemaType(datetime).
			Default(now).
			UpdateDefault(now).
			Annotations(entgql.OrderField("UPDATED_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// now is the default of time fields: UTC, so that stored times compare
// correctly as text in SQLite.
func now() time.Time { return time.Now().UTC() }
