package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"berth/ent"
)

// series is one exported metric: its description and how to read it from
// a sample.
type series struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*ent.MetricSample) float64
}

func newSeries(host bool) []series {
	prefix, labels, what := "berth_app_", []string{"app", "location"}, "the app's container"
	if host {
		prefix, labels, what = "berth_host_", nil, "the host"
	}
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prefix+name, help+" of "+what+" at the latest sample.", labels, nil)
	}
	return []series{
		{d("cpu_percent", "CPU use in percent of the whole machine"), prometheus.GaugeValue,
			func(s *ent.MetricSample) float64 { return s.CPUPercent }},
		{d(memoryUsedName(host), "Memory in use in bytes, without reclaimable cache"), prometheus.GaugeValue,
			func(s *ent.MetricSample) float64 { return float64(s.MemoryBytes) }},
		{d(memoryLimitName(host), "Memory limit in bytes"), prometheus.GaugeValue,
			func(s *ent.MetricSample) float64 { return float64(s.MemoryLimit) }},
		{d("network_receive_bytes_total", "Bytes received"), prometheus.CounterValue,
			func(s *ent.MetricSample) float64 { return float64(s.NetRx) }},
		{d("network_transmit_bytes_total", "Bytes sent"), prometheus.CounterValue,
			func(s *ent.MetricSample) float64 { return float64(s.NetTx) }},
		{d("block_read_bytes_total", "Bytes read from block devices"), prometheus.CounterValue,
			func(s *ent.MetricSample) float64 { return float64(s.BlockRead) }},
		{d("block_write_bytes_total", "Bytes written to block devices"), prometheus.CounterValue,
			func(s *ent.MetricSample) float64 { return float64(s.BlockWrite) }},
	}
}

// The host's memory "limit" is all of its memory, and says so.
func memoryUsedName(host bool) string {
	if host {
		return "memory_used_bytes"
	}
	return "memory_bytes"
}

func memoryLimitName(host bool) string {
	if host {
		return "memory_total_bytes"
	}
	return "memory_limit_bytes"
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range c.appSeries {
		ch <- s.desc
	}
	for _, s := range c.hostSeries {
		ch <- s.desc
	}
}

// Collect implements prometheus.Collector. It reports the latest stored
// samples rather than sampling: a scrape must not wait for the engine, and
// must show what the charts show.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	latest := c.latest
	c.mu.Unlock()
	for _, l := range latest {
		all, labels := c.hostSeries, []string(nil)
		if l.sample.AppID != nil {
			all, labels = c.appSeries, []string{*l.sample.AppID, l.location}
		}
		for _, s := range all {
			ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(l.sample), labels...)
		}
	}
}
