package docker_test

import (
	"errors"
	"maps"
	"runtime"
	"slices"
	"testing"

	"berth/docker"
)

func sampleSpec() docker.Spec {
	return docker.Spec{
		AppID:       "wiki",
		Image:       "berth-test/busybox:1",
		Env:         map[string]string{"A": "1", "B": "2"},
		Mounts:      []docker.Mount{{Source: "/srv/a", Target: "/a"}, {Source: "/srv/b", Target: "/b", ReadOnly: true}},
		Ports:       []docker.Port{{EnvVar: "HTTP_PORT", HostPort: 8000, Count: 2, Proto: "tcp"}, {EnvVar: "DNS_PORT", HostPort: 5353, Proto: "udp"}},
		CPUQuota:    50,
		MemoryLimit: 256 << 20,
		Hostname:    "wiki",
		ExtraHosts:  []string{"a:10.0.0.1", "b:10.0.0.2"},
	}
}

// clone copies a Spec deeply so that a change to the copy leaves the
// original alone.
func clone(s docker.Spec) docker.Spec {
	s.Env = maps.Clone(s.Env)
	s.Mounts = slices.Clone(s.Mounts)
	s.Ports = slices.Clone(s.Ports)
	s.ExtraHosts = slices.Clone(s.ExtraHosts)
	return s
}

func TestSpecHash(t *testing.T) {
	base := sampleSpec()
	tests := []struct {
		name   string
		change func(*docker.Spec)
		same   bool
	}{
		{"identical", func(*docker.Spec) {}, true},
		{"env built in another order", func(s *docker.Spec) { s.Env = map[string]string{"B": "2", "A": "1"} }, true},
		{"mounts reordered", func(s *docker.Spec) { slices.Reverse(s.Mounts) }, true},
		{"ports reordered", func(s *docker.Spec) { slices.Reverse(s.Ports) }, true},
		{"extra hosts reordered", func(s *docker.Spec) { slices.Reverse(s.ExtraHosts) }, true},
		{"port added", func(s *docker.Spec) {
			s.Ports = append(s.Ports, docker.Port{EnvVar: "X", HostPort: 9000})
		}, false},
		{"app ID", func(s *docker.Spec) { s.AppID = "blog" }, false},
		{"image", func(s *docker.Spec) { s.Image = "berth-test/busybox:2" }, false},
		{"env value", func(s *docker.Spec) { s.Env["A"] = "x" }, false},
		{"env added", func(s *docker.Spec) { s.Env["C"] = "3" }, false},
		{"mount read-only", func(s *docker.Spec) { s.Mounts[0].ReadOnly = true }, false},
		{"mount source", func(s *docker.Spec) { s.Mounts[0].Source = "/srv/c" }, false},
		{"port number", func(s *docker.Spec) { s.Ports[0].HostPort = 8001 }, false},
		{"port count", func(s *docker.Spec) { s.Ports[0].Count = 3 }, false},
		{"port proto", func(s *docker.Spec) { s.Ports[1].Proto = "tcp" }, false},
		{"port env var", func(s *docker.Spec) { s.Ports[0].EnvVar = "WEB_PORT" }, false},
		{"cpu quota", func(s *docker.Spec) { s.CPUQuota = 51 }, false},
		{"memory limit", func(s *docker.Spec) { s.MemoryLimit++ }, false},
		{"hostname", func(s *docker.Spec) { s.Hostname = "w" }, false},
		{"extra host", func(s *docker.Spec) { s.ExtraHosts[0] = "a:10.0.0.9" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := clone(base)
			tt.change(&s)
			if got := s.Hash() == base.Hash(); got != tt.same {
				t.Errorf("hash equal = %v, want %v", got, tt.same)
			}
			if len(s.Hash()) != 64 {
				t.Errorf("hash %q is not 64 hex digits", s.Hash())
			}
		})
	}

	t.Run("defaults equal their spelled-out values", func(t *testing.T) {
		a, b := clone(base), clone(base)
		a.Ports = []docker.Port{{EnvVar: "P", HostPort: 7000}}
		b.Ports = []docker.Port{{EnvVar: "P", HostPort: 7000, Count: 1, Proto: "tcp"}}
		a.Env, b.Env = nil, map[string]string{}
		if a.Hash() != b.Hash() {
			t.Error("Count 0 / Proto \"\" / nil Env hash differently from Count 1 / tcp / empty Env")
		}
	})
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*docker.Spec)
		ok     bool
	}{
		{"sample", func(*docker.Spec) {}, true},
		{"no limits", func(s *docker.Spec) { s.CPUQuota, s.MemoryLimit = 0, 0 }, true},
		{"empty app ID", func(s *docker.Spec) { s.AppID = "" }, false},
		{"app ID with slash", func(s *docker.Spec) { s.AppID = "a/b" }, false},
		{"empty image", func(s *docker.Spec) { s.Image = " " }, false},
		{"cpu quota over 100", func(s *docker.Spec) { s.CPUQuota = 101 }, false},
		{"negative cpu quota", func(s *docker.Spec) { s.CPUQuota = -1 }, false},
		{"memory below engine minimum", func(s *docker.Spec) { s.MemoryLimit = 1 << 20 }, false},
		{"env name with =", func(s *docker.Spec) { s.Env["A=B"] = "1" }, false},
		{"relative mount source", func(s *docker.Spec) { s.Mounts[0].Source = "srv" }, false},
		{"relative mount target", func(s *docker.Spec) { s.Mounts[0].Target = "a" }, false},
		{"port zero", func(s *docker.Spec) { s.Ports[0].HostPort = 0 }, false},
		{"port range past 65535", func(s *docker.Spec) { s.Ports[0].HostPort, s.Ports[0].Count = 65535, 2 }, false},
		{"bad proto", func(s *docker.Spec) { s.Ports[0].Proto = "sctp" }, false},
		{"port without env var", func(s *docker.Spec) { s.Ports[0].EnvVar = "" }, false},
		{"overlapping ports", func(s *docker.Spec) {
			s.Ports = append(s.Ports, docker.Port{EnvVar: "X", HostPort: 8001})
		}, false},
		{"same number, other proto", func(s *docker.Spec) {
			s.Ports = append(s.Ports, docker.Port{EnvVar: "X", HostPort: 8001, Proto: "udp"})
		}, true},
		{"extra host without ip", func(s *docker.Spec) { s.ExtraHosts = []string{"a"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := clone(sampleSpec())
			tt.change(&s)
			err := s.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, docker.ErrInvalidSpec) {
				t.Fatalf("Validate() = %v, want ErrInvalidSpec", err)
			}
		})
	}
}

func TestNanoCPUs(t *testing.T) {
	n := int64(runtime.NumCPU())
	for _, tt := range []struct {
		quota int
		want  int64
	}{{0, 0}, {1, n * 1e7}, {50, n * 5e8}, {100, n * 1e9}} {
		if got := docker.NanoCPUs(tt.quota); got != tt.want {
			t.Errorf("NanoCPUs(%d) = %d, want %d", tt.quota, got, tt.want)
		}
	}
}
