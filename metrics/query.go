package metrics

import (
	"context"
	"fmt"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"berth/ent"
	"berth/ent/metricsample"
	"berth/ent/predicate"
	"berth/fault"
	"berth/gid"
)

// Query limits.
const (
	// MaxRange is the longest time range one Query covers.
	MaxRange = 31 * 24 * time.Hour
	// MaxPoints is the most samples one Query returns. A month at the
	// default interval is 268,000 samples; a chart needs far fewer.
	MaxPoints = 10000
)

// Query returns the samples of the app (the host when appID is nil) taken
// from from to to, inclusive, oldest first. When there are more than
// MaxPoints it returns evenly spaced ones among them, at most MaxPoints:
// counters stay exact at the points shown, gauges lose the peaks between.
// It does not check who may read them; the caller does.
func (c *Collector) Query(ctx context.Context, appID *gid.ID, from, to time.Time) ([]*ent.MetricSample, error) {
	return query(ctx, c.client, appID, from, to, MaxPoints)
}

func query(ctx context.Context, client *ent.Client, appID *gid.ID, from, to time.Time, maxPoints int) ([]*ent.MetricSample, error) {
	switch {
	case from.IsZero():
		return nil, fault.Input("from", "from is required")
	case to.IsZero():
		return nil, fault.Input("to", "to is required")
	case to.Before(from):
		return nil, fault.Input("to", "to (%s) is before from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	case to.Sub(from) > MaxRange:
		return nil, fault.Input("from", "the range is longer than %d days", int(MaxRange/(24*time.Hour)))
	}
	// Stored times are UTC; SQLite compares them as text.
	from, to = from.UTC(), to.UTC()

	preds := []predicate.MetricSample{metricsample.AtGTE(from), metricsample.AtLTE(to)}
	if appID != nil {
		preds = append(preds, metricsample.AppID(string(*appID)))
	} else {
		preds = append(preds, metricsample.AppIDIsNil())
	}
	n, err := client.MetricSample.Query().Where(preds...).Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("metrics: count samples: %w", err)
	}
	q := client.MetricSample.Query().
		Where(preds...).
		Order(metricsample.ByAt(), metricsample.ByID())
	if n > maxPoints {
		step := (n + maxPoints - 1) / maxPoints
		q = q.Where(everyNth(appID, from, to, step))
	}
	out, err := q.Limit(maxPoints).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("metrics: query samples: %w", err)
	}
	return out, nil
}

// everyNth keeps the 1st, (step+1)th, (2·step+1)th ... sample of the range
// in time order. It is done in the database, with a window function that
// SQLite (3.25+) and MariaDB (10.2+) both have, so that a month of samples
// is never loaded to show a few thousand of them.
func everyNth(appID *gid.ID, from, to time.Time, step int) predicate.MetricSample {
	return func(s *entsql.Selector) {
		inner := entsql.Select(metricsample.FieldID).
			AppendSelectExprAs(entsql.Expr("ROW_NUMBER() OVER (ORDER BY `at`, `id`)"), "rn").
			From(entsql.Table(metricsample.Table)).
			Where(entsql.And(
				entsql.GTE(metricsample.FieldAt, from),
				entsql.LTE(metricsample.FieldAt, to),
			))
		if appID != nil {
			inner.Where(entsql.EQ(metricsample.FieldAppID, string(*appID)))
		} else {
			inner.Where(entsql.IsNull(metricsample.FieldAppID))
		}
		numbered := entsql.Select(metricsample.FieldID).
			From(inner.As("numbered")).
			Where(entsql.ExprP("(`rn` - 1) % ? = 0", step))
		s.Where(entsql.In(s.C(metricsample.FieldID), numbered))
	}
}
