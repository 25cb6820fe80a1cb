package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"berth/ent"
	"berth/ent/volume"
	"berth/ent/volumemount"
	"berth/fault"
	"berth/gid"
)

var volumeNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// VolumeInput defines a volume.
type VolumeInput struct {
	Name     string
	HostPath string
	Kind     volume.Kind
}

// CreateVolume stores a volume after checking its definition. The path
// need not be usable yet (a share may be mounted later): MountStatus says.
func (s *Service) CreateVolume(ctx context.Context, in VolumeInput) (*ent.Volume, error) {
	if !volumeNamePattern.MatchString(in.Name) {
		return nil, fault.Input("name", "must be 1-64 lower-case letters, digits, '-' or '_', not %q", in.Name)
	}
	if !filepath.IsAbs(in.HostPath) || filepath.Clean(in.HostPath) != in.HostPath || in.HostPath == "/" {
		return nil, fault.Input("hostPath", "must be a clean absolute path other than /, not %q", in.HostPath)
	}
	if err := volume.KindValidator(in.Kind); err != nil {
		return nil, fault.Input("kind", "must be directory, nfs or cifs")
	}
	v, err := s.db(ctx).Volume.Create().SetName(in.Name).SetHostPath(in.HostPath).SetKind(in.Kind).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, fault.Conflict("name", "a volume named %q exists already", in.Name)
	}
	return v, err
}

// DeleteVolume removes a volume no app uses.
func (s *Service) DeleteVolume(ctx context.Context, id gid.ID) error {
	db := s.db(ctx)
	n, err := db.VolumeMount.Query().Where(volumemount.HasVolumeWith(volume.ID(id))).Count(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fault.Conflict("id", "the volume is attached to %d app(s); detach it first", n)
	}
	return db.Volume.DeleteOneID(id).Exec(ctx)
}

// VolumeMountInput attaches a volume to an app.
type VolumeMountInput struct {
	VolumeID gid.ID `json:"volumeId"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
}

// validateMounts checks the volumes an app asks for.
func (s *Service) validateMounts(ctx context.Context, in []VolumeMountInput) ([]VolumeMountInput, error) {
	seen := map[string]bool{}
	out := make([]VolumeMountInput, len(in))
	for i, m := range in {
		v, err := s.db(ctx).Volume.Get(ctx, m.VolumeID)
		if ent.IsNotFound(err) {
			return nil, fault.Input("volumes", "no volume %s", m.VolumeID)
		}
		if err != nil {
			return nil, err
		}
		if m.Target == "" {
			m.Target = "/media/" + v.Name
		}
		clean := filepath.Clean(m.Target)
		if !filepath.IsAbs(m.Target) || clean != m.Target || clean == "/" || clean == "/data" || strings.HasPrefix(clean, "/data/") {
			return nil, fault.Input("volumes", "target %q must be a clean absolute path outside /data", m.Target)
		}
		if seen[clean] || seen[string(m.VolumeID)] {
			return nil, fault.Input("volumes", "%s is mounted twice", v.Name)
		}
		seen[clean], seen[string(m.VolumeID)] = true, true
		out[i] = m
	}
	return out, nil
}

// MountStatus says whether a volume can be used: "ok", "missing" (no
// directory there) or "not_mounted" (a share the host has not mounted).
func MountStatus(v *ent.Volume, procMounts string) string {
	fi, err := os.Stat(v.HostPath)
	if err != nil || !fi.IsDir() {
		return "missing"
	}
	if v.Kind == volume.KindDirectory {
		return "ok"
	}
	f, err := os.Open(procMounts)
	if err != nil {
		return "not_mounted"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// device mountpoint fstype options ...
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[1] == v.HostPath && strings.HasPrefix(fields[2], string(v.Kind)) {
			return "ok"
		}
	}
	return "not_mounted"
}

// errVolumeUnusable is returned when an app's volume cannot be mounted.
var errVolumeUnusable = errors.New("volume not usable")

// volumeMounts returns the app's volume mounts with their volumes.
func volumeMounts(ctx context.Context, a *ent.App) ([]*ent.VolumeMount, error) {
	ms, err := a.QueryVolumeMounts().WithVolume().All(ctx)
	if err != nil {
		return nil, fmt.Errorf("volumes of %s: %w", a.Location, err)
	}
	for _, m := range ms {
		if st := MountStatus(m.Edges.Volume, "/proc/mounts"); st != "ok" {
			return nil, fmt.Errorf("%w: %s at %s is %s", errVolumeUnusable, m.Edges.Volume.Name, m.Edges.Volume.HostPath, st)
		}
	}
	return ms, nil
}
