package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"berth/ent/schematype"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

func TestVolumes(t *testing.T) {
	requireDocker(t)
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		ctx := context.Background()
		shared := t.TempDir()
		const create = `mutation($in: CreateVolumeInput!) { createVolume(input: $in) { id name mountStatus } }`

		var made struct {
			CreateVolume struct{ ID, Name, MountStatus string }
		}
		admin.MustDo(t, create, map[string]any{"in": map[string]any{"name": "shared", "hostPath": shared, "kind": "directory"}}, &made)
		if made.CreateVolume.MountStatus != "ok" {
			t.Fatalf("directory volume: %+v", made.CreateVolume)
		}
		vol := made.CreateVolume.ID
		var share struct {
			CreateVolume struct{ MountStatus string }
		}
		admin.MustDo(t, create, map[string]any{"in": map[string]any{"name": "nas", "hostPath": t.TempDir(), "kind": "nfs"}}, &share)
		if share.CreateVolume.MountStatus != "not_mounted" {
			t.Fatalf("an unmounted NFS volume reports %s", share.CreateVolume.MountStatus)
		}
		bad := []struct {
			name  string
			in    map[string]any
			field string
		}{
			{"relative path", map[string]any{"name": "x", "hostPath": "srv/x", "kind": "directory"}, "hostPath"},
			{"root", map[string]any{"name": "x", "hostPath": "/", "kind": "directory"}, "hostPath"},
			{"bad name", map[string]any{"name": "Big Disk", "hostPath": "/srv/x", "kind": "directory"}, "name"},
			{"taken name", map[string]any{"name": "shared", "hostPath": "/srv/x", "kind": "directory"}, "name"},
		}
		for _, tt := range bad {
			err := admin.Do(ctx, create, map[string]any{"in": tt.in}, nil)
			errs, ok := err.(servertest.Errors)
			if !ok || errs[0].Field() != tt.field {
				t.Errorf("%s: %v, want an error on %s", tt.name, err, tt.field)
			}
		}

		appID := install(t, admin, "files")
		attach := func(readOnly bool) string {
			tk := runTask(t, admin, `mutation($id: ID!, $v: ID!, $ro: Boolean) { configureApp(id: $id, input: {volumes: [{volumeId: $v, readOnly: $ro}]}) { id } }`,
				map[string]any{"id": appID, "v": vol, "ro": readOnly})
			if tk.State != "succeeded" {
				t.Fatalf("attach: %+v", tk)
			}
			return getApp(t, admin, appID).ContainerID
		}
		cid := attach(false)
		if out, err := exec.Command("docker", "exec", cid, "sh", "-c", "echo hi > /media/shared/from-app").CombinedOutput(); err != nil {
			t.Fatalf("write to the volume: %v %s", err, out)
		}
		if b, err := os.ReadFile(filepath.Join(shared, "from-app")); err != nil || string(b) != "hi\n" {
			t.Fatalf("file on the host: %q %v", b, err)
		}
		cid = attach(true)
		if err := exec.Command("docker", "exec", cid, "sh", "-c", "echo no > /media/shared/ro").Run(); err == nil {
			t.Fatalf("wrote to a read-only volume")
		}
		var listed struct {
			Node struct {
				Volumes []struct {
					Target   string
					ReadOnly bool
				}
			}
		}
		admin.MustDo(t, `query($id: ID!) { node(id: $id) { ... on App { volumes { target readOnly } } } }`, map[string]any{"id": appID}, &listed)
		if v := listed.Node.Volumes; len(v) != 1 || v[0].Target != "/media/shared" || !v[0].ReadOnly {
			t.Fatalf("App.volumes = %+v", v)
		}
		if err := admin.Do(ctx, `mutation($id: ID!) { deleteVolume(id: $id) }`, map[string]any{"id": vol}, nil); !hasCode(err, "CONFLICT") {
			t.Fatalf("deleting a volume in use: %v", err)
		}
	})
}
