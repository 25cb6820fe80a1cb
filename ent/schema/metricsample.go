package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"berth/gid"
)

// MetricSample is one reading of an app's container, or of the host, taken
// by berth's own collector (package metrics).
type MetricSample struct {
	ent.Schema
}

// Mixin implements ent.Schema.
func (MetricSample) Mixin() []ent.Mixin {
	return []ent.Mixin{gid.MixinWithPrefix("met")}
}

// Fields implements ent.Schema.
func (MetricSample) Fields() []ent.Field {
	return []ent.Field{
		// app_id is a plain column, not an edge: an edge would need a
		// back-reference on App, and samples outlive nothing of interest.
		// The collector deletes the samples of apps that are gone. NULL is
		// the host.
		field.String("app_id").
			Optional().
			Nillable().
			Immutable().
			MaxLen(40),
		field.Time("at").SchemaType(datetime).
			Immutable(),
		// cpu_percent is the share of the whole machine, 0-100.
		field.Float("cpu_percent").
			Immutable(),
		field.Int64("memory_bytes").
			Immutable(),
		field.Int64("memory_limit").
			Immutable(),
		// The rest are cumulative counters as sampled: a restarted
		// container or a rebooted host starts them again from zero.
		field.Int64("net_rx").
			Immutable(),
		field.Int64("net_tx").
			Immutable(),
		field.Int64("block_read").
			Immutable(),
		field.Int64("block_write").
			Immutable(),
	}
}

// Indexes implements ent.Schema.
func (MetricSample) Indexes() []ent.Index {
	return []ent.Index{
		// Queries are one app (or the host) over a time range.
		index.Fields("app_id", "at"),
		// Retention deletes by time alone.
		index.Fields("at"),
	}
}

// Annotations implements ent.Schema.
func (MetricSample) Annotations() []schema.Annotation {
	// GraphQL shows samples through a hand-written type and query whose
	// access rule depends on the app (graph/metrics.graphqls).
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
