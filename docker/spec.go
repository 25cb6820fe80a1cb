package docker

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
)

// MinMemoryLimit is the smallest memory limit the engine accepts.
const MinMemoryLimit = 6 << 20

// hashVersion is part of every hash: bump it when the way a Spec becomes a
// container changes, so that Ensure replaces containers built the old way.
const hashVersion = "berth/docker spec v1"

// appIDPattern keeps "berth-<appID>" a valid container name.
var appIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

// Mount is a bind mount of a host path into the container.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// Port publishes host ports HostPort..HostPort+Count-1 on all interfaces.
// Inside the container the ports have the same numbers, so the value of
// EnvVar (HostPort) is valid both inside and outside.
type Port struct {
	EnvVar   string
	HostPort int
	Count    int    // 0 means 1
	Proto    string // "tcp" (the default when empty) or "udp"
}

func (p Port) count() int { return max(p.Count, 1) }

func (p Port) proto() string {
	if p.Proto == "" {
		return "tcp"
	}
	return p.Proto
}

// Spec is what an app's container should be.
type Spec struct {
	AppID string
	Image string
	// Env also gets each Port's EnvVar=HostPort when the container is
	// built; a Port's variable wins over an Env entry of the same name.
	Env    map[string]string
	Mounts []Mount
	Ports  []Port
	// CPUQuota is a hard limit in percent of the whole machine, 1-100;
	// 0 means no limit.
	CPUQuota int
	// MemoryLimit is in bytes, with no extra swap; 0 means no limit.
	MemoryLimit int64
	Hostname    string
	ExtraHosts  []string // "name:ip"
}

// ContainerName is the name of the app's container.
func ContainerName(appID string) string { return "berth-" + appID }

// NanoCPUs turns a CPU quota (percent of the machine) into the engine's
// NanoCPUs: quota/100 × runtime.NumCPU() CPUs. 0 means no limit.
func NanoCPUs(cpuQuota int) int64 {
	return int64(cpuQuota) * int64(runtime.NumCPU()) * 1e9 / 100
}

// Validate reports what is wrong with the Spec; the error wraps
// ErrInvalidSpec.
func (s Spec) Validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if !appIDPattern.MatchString(s.AppID) {
		bad("app ID %q must be 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit", s.AppID)
	}
	if strings.TrimSpace(s.Image) == "" {
		bad("image is empty")
	}
	if err := validateLimits(s.CPUQuota, s.MemoryLimit); err != nil {
		bad("%s", err)
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			bad("env name %q is not valid", k)
		}
	}
	for _, m := range s.Mounts {
		if !path.IsAbs(m.Source) || !path.IsAbs(m.Target) {
			bad("mount %q -> %q: both paths must be absolute", m.Source, m.Target)
		}
	}
	used := map[string]bool{}
	for _, p := range s.Ports {
		if p.EnvVar == "" || strings.ContainsAny(p.EnvVar, "=\x00") {
			bad("port %d: env var %q is not valid", p.HostPort, p.EnvVar)
		}
		if p.proto() != "tcp" && p.proto() != "udp" {
			bad("port %d: protocol %q is not tcp or udp", p.HostPort, p.Proto)
		}
		if p.Count < 0 || p.HostPort < 1 || p.HostPort+p.count()-1 > 65535 {
			bad("port range %d+%d is outside 1-65535", p.HostPort, p.Count)
			continue
		}
		for n := p.HostPort; n < p.HostPort+p.count(); n++ {
			key := fmt.Sprintf("%d/%s", n, p.proto())
			if used[key] {
				bad("port %s is published twice", key)
			}
			used[key] = true
		}
	}
	for _, h := range s.ExtraHosts {
		if name, ip, ok := strings.Cut(h, ":"); !ok || name == "" || ip == "" {
			bad("extra host %q is not name:ip", h)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, strings.Join(problems, "; "))
	}
	return nil
}

func validateLimits(cpuQuota int, memoryLimit int64) error {
	if cpuQuota < 0 || cpuQuota > 100 {
		return fmt.Errorf("cpu quota %d is not 0-100 percent", cpuQuota)
	}
	if memoryLimit < 0 || (memoryLimit > 0 && memoryLimit < MinMemoryLimit) {
		return fmt.Errorf("memory limit %d is neither 0 (none) nor at least %d bytes", memoryLimit, MinMemoryLimit)
	}
	return nil
}

// Hash is a stable SHA-256 (hex) of the effective configuration: maps and
// slices are sorted and defaults filled in, so equivalent Specs hash alike,
// and any change of a field changes it.
func (s Spec) Hash() string { return s.hash(true) }

// baseHash is Hash without the CPU and memory limits (see LabelBaseHash).
func (s Spec) baseHash() string { return s.hash(false) }

func (s Spec) hash(withLimits bool) string {
	type port struct {
		EnvVar   string
		HostPort int
		Count    int
		Proto    string
	}
	canon := struct {
		Version     string
		AppID       string
		Image       string
		Env         []string
		Mounts      []Mount
		Ports       []port
		CPUQuota    int
		MemoryLimit int64
		Hostname    string
		ExtraHosts  []string
	}{
		Version:    hashVersion,
		AppID:      s.AppID,
		Image:      s.Image,
		Env:        s.envList(),
		Mounts:     slices.Clone(s.Mounts),
		Ports:      []port{},
		Hostname:   s.Hostname,
		ExtraHosts: slices.Sorted(slices.Values(s.ExtraHosts)),
	}
	if withLimits {
		canon.CPUQuota, canon.MemoryLimit = s.CPUQuota, s.MemoryLimit
	} else {
		canon.Version += " base"
	}
	if canon.Mounts == nil {
		canon.Mounts = []Mount{}
	}
	slices.SortFunc(canon.Mounts, func(a, b Mount) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.Source, b.Source),
			cmp.Compare(boolInt(a.ReadOnly), boolInt(b.ReadOnly)))
	})
	for _, p := range s.Ports {
		canon.Ports = append(canon.Ports, port{p.EnvVar, p.HostPort, p.count(), p.proto()})
	}
	slices.SortFunc(canon.Ports, func(a, b port) int {
		return cmp.Or(cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.HostPort, b.HostPort),
			cmp.Compare(a.Count, b.Count), cmp.Compare(a.EnvVar, b.EnvVar))
	})
	if canon.ExtraHosts == nil {
		canon.ExtraHosts = []string{}
	}
	b, err := json.Marshal(canon)
	if err != nil {
		// Only strings, ints and bools: cannot fail.
		panic(fmt.Sprintf("docker: hash spec: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// envList is the effective environment as sorted "K=V": Env plus each
// Port's variable.
func (s Spec) envList() []string {
	env := maps.Clone(s.Env)
	if env == nil {
		env = map[string]string{}
	}
	for _, p := range s.Ports {
		env[p.EnvVar] = strconv.Itoa(p.HostPort)
	}
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// containerConfig builds what ContainerCreate needs. It uses only API 1.41
// features.
func (s Spec) containerConfig(instance string) (*container.Config, *container.HostConfig) {
	exposed := nat.PortSet{}
	bindings := nat.PortMap{}
	for _, p := range s.Ports {
		for n := p.HostPort; n < p.HostPort+p.count(); n++ {
			port := nat.Port(fmt.Sprintf("%d/%s", n, p.proto()))
			exposed[port] = struct{}{}
			// HostIP "" publishes on every interface.
			bindings[port] = []nat.PortBinding{{HostPort: strconv.Itoa(n)}}
		}
	}
	// Typed bind mounts (not Binds strings) so that a missing source is an
	// error instead of an empty directory the engine creates: an app must
	// not start on empty data because a disk was not mounted.
	mounts := make([]mount.Mount, 0, len(s.Mounts))
	for _, m := range s.Mounts {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	cfg := &container.Config{
		Hostname:     s.Hostname,
		Image:        s.Image,
		Env:          s.envList(),
		ExposedPorts: exposed,
		Labels: map[string]string{
			LabelApp:        s.AppID,
			LabelInstance:   instance,
			LabelConfigHash: s.Hash(),
			LabelBaseHash:   s.baseHash(),
		},
	}
	host := &container.HostConfig{
		PortBindings: bindings,
		Mounts:       mounts,
		ExtraHosts:   slices.Clone(s.ExtraHosts),
		Resources:    resources(s.CPUQuota, s.MemoryLimit),
	}
	return cfg, host
}

// resources maps berth's limits to the engine's; 0 means no limit (and, in
// an update, no change).
func resources(cpuQuota int, memoryLimit int64) container.Resources {
	return container.Resources{
		NanoCPUs: NanoCPUs(cpuQuota),
		Memory:   memoryLimit,
		// Equal to Memory: no swap beyond the memory limit.
		MemorySwap: memoryLimit,
	}
}
