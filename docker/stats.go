package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// Stats is one sample of a container's resource use.
type Stats struct {
	// CPUPercent is the share of the whole machine used since the engine's
	// previous sample, 0-100, the same scale as Spec.CPUQuota (docker's
	// own "docker stats" shows percent of one CPU instead, up to N×100).
	CPUPercent float64
	// MemoryBytes is the memory in use without the page cache that the
	// kernel can drop (what "docker stats" shows); MemoryLimit is the
	// container's limit, or the host's memory when it has none.
	MemoryBytes, MemoryLimit                                uint64
	NetRxBytes, NetTxBytes, BlockReadBytes, BlockWriteBytes uint64
}

// Stats takes one sample (stream=false: the engine waits for a second
// reading, about a second, to have CPU deltas). A container that is not
// running gives zeros.
func (c *Client) Stats(ctx context.Context, id string) (*Stats, error) {
	in, err := c.inspectOwned(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("docker: stats of %s: %w", id, err)
	}
	resp, err := c.api.ContainerStats(ctx, in.ID, false)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("docker: stats of %s: %w", displayName(in), ErrNotFound)
		}
		return nil, fmt.Errorf("docker: stats of %s: %w", displayName(in), classify(err))
	}
	defer resp.Body.Close()
	var raw container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return nil, fmt.Errorf("docker: stats of %s: decode: %w", displayName(in), classify(err))
	}
	return statsFrom(raw), nil
}

func statsFrom(raw container.StatsResponse) *Stats {
	out := &Stats{MemoryLimit: raw.MemoryStats.Limit}

	// system_cpu_usage counts every CPU of the host, so the ratio of the
	// deltas is already the share of the whole machine.
	cpu := float64(raw.CPUStats.CPUUsage.TotalUsage) - float64(raw.PreCPUStats.CPUUsage.TotalUsage)
	sys := float64(raw.CPUStats.SystemUsage) - float64(raw.PreCPUStats.SystemUsage)
	if cpu > 0 && sys > 0 {
		out.CPUPercent = min(cpu/sys*100, 100)
	}

	// cgroup v1 reports total_inactive_file, v2 inactive_file.
	mem := raw.MemoryStats.Usage
	inactive, ok := raw.MemoryStats.Stats["total_inactive_file"]
	if !ok {
		inactive = raw.MemoryStats.Stats["inactive_file"]
	}
	if inactive < mem {
		mem -= inactive
	}
	out.MemoryBytes = mem

	for _, n := range raw.Networks {
		out.NetRxBytes += n.RxBytes
		out.NetTxBytes += n.TxBytes
	}
	for _, e := range raw.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) { // "Read" on cgroup v1, "read" on v2
		case "read":
			out.BlockReadBytes += e.Value
		case "write":
			out.BlockWriteBytes += e.Value
		}
	}
	return out
}
