package app

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"berth/ent/schematype"
	"berth/fault"
)

// Limits on an app's configuration.
const (
	MinMemory = 64 << 20 // below this the test of "does it start" is not worth much
	MaxMemory = 1 << 40
	MaxPorts  = 64 // ports an app may publish, counting each of a range
)

var (
	locationPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	envNamePattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	imagePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:@-]{0,254}$`)
)

// PortInput asks for host ports for an app: HostPort..HostPort+Count-1,
// with the first in the environment variable EnvVar.
type PortInput struct {
	EnvVar   string
	HostPort int
	Count    int                 // 0 means 1
	Type     schematype.Protocol // "" means tcp
}

func validateLocation(loc string) error {
	if len(loc) > 191 || !locationPattern.MatchString(loc) {
		return fault.Input("location", "must be a lower-case host name such as \"wiki\" or \"wiki.example.com\", not %q", loc)
	}
	return nil
}

func validateImage(img string) error {
	if !imagePattern.MatchString(img) {
		return fault.Input("image", "%q is not an image reference", img)
	}
	return nil
}

func validateCPUQuota(q int) error {
	if q < 1 || q > 100 {
		return fault.Input("cpuQuota", "must be 1-100 (percent of the machine), not %d", q)
	}
	return nil
}

func validateMemory(m int64) error {
	if m < MinMemory || m > MaxMemory {
		return fault.Input("memoryLimit", "must be at least %d bytes (64 MiB) and at most 1 TiB, not %d", MinMemory, m)
	}
	return nil
}

func validateEnv(env map[string]string) error {
	for k, v := range env {
		if !envNamePattern.MatchString(k) {
			return fault.Input("env", "%q is not a valid variable name", k)
		}
		if strings.ContainsRune(v, 0) {
			return fault.Input("env", "%s contains a NUL byte", k)
		}
	}
	return nil
}

// portBindings checks the requested ports and turns them into the stored
// form. reserved are ports berth itself uses.
func portBindings(in []PortInput, env map[string]string, reserved []int) (schematype.PortBindings, error) {
	out := schematype.PortBindings{}
	total := 0
	used := map[string]bool{} // "proto/port" within this app
	for _, p := range in {
		if !envNamePattern.MatchString(p.EnvVar) {
			return nil, fault.Input("ports", "%q is not a valid variable name", p.EnvVar)
		}
		if _, dup := out[p.EnvVar]; dup {
			return nil, fault.Input("ports", "%s is given twice", p.EnvVar)
		}
		if _, clash := env[p.EnvVar]; clash {
			return nil, fault.Input("ports", "%s is also set in env", p.EnvVar)
		}
		count := max(p.Count, 1)
		proto := p.Type
		if proto == "" {
			proto = schematype.TCP
		}
		if proto != schematype.TCP && proto != schematype.UDP {
			return nil, fault.Input("ports", "%s: type must be tcp or udp", p.EnvVar)
		}
		if p.HostPort < 1 || p.HostPort+count-1 > 65535 || p.Count < 0 {
			return nil, fault.Input("ports", "%s: ports %d-%d are out of range 1-65535", p.EnvVar, p.HostPort, p.HostPort+count-1)
		}
		for port := p.HostPort; port < p.HostPort+count; port++ {
			if slices.Contains(reserved, port) {
				return nil, fault.Input("ports", "%s: port %d is reserved by berth", p.EnvVar, port)
			}
			key := fmt.Sprintf("%s/%d", proto, port)
			if used[key] {
				return nil, fault.Input("ports", "%s: port %d/%s is asked for twice", p.EnvVar, port, proto)
			}
			used[key] = true
		}
		total += count
		out[p.EnvVar] = schematype.PortBinding{HostPort: p.HostPort, Count: count, Type: proto}
	}
	if total > MaxPorts {
		return nil, fault.Input("ports", "%d ports asked for, at most %d allowed", total, MaxPorts)
	}
	return out, nil
}
