package server_test

import (
	"context"
	"strings"
	"testing"

	"berth/ent/schematype"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

// Apps with the mail-server-FQDN option see the mail server by its full
// name, and get the new one when it changes; the others keep "mail".
func TestMailServerName(t *testing.T) {
	requireDocker(t)
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		t.Setenv("BERTH_MAIL_FQDN", "mail.example.com")
		env := servertest.Start(t, db)
		admin := env.AddUser(t, "alice", schematype.RoleAdmin)
		for _, in := range []string{
			`{image: "` + imageV1 + `", location: "strict", mailServerFqdn: true}`,
			`{image: "` + imageV1 + `", location: "relaxed"}`,
		} {
			if tk := runTask(t, admin, `mutation { installApp(input: `+in+`) { id } }`, nil); tk.State != "succeeded" {
				t.Fatalf("install %s: %+v", in, tk)
			}
		}
		containers := func(c *servertest.Client) map[string]string {
			var out struct {
				Apps struct {
					Edges []struct {
						Node struct{ Location, ContainerID string }
					}
				}
			}
			c.MustDo(t, `{ apps { edges { node { location containerID } } } }`, nil, &out)
			m := map[string]string{}
			for _, e := range out.Apps.Edges {
				m[e.Node.Location] = e.Node.ContainerID
			}
			return m
		}
		check := func(cid, wantName string) {
			t.Helper()
			got := inspect(t, cid, "{{range .Config.Env}}{{.}} {{end}}|{{range .HostConfig.ExtraHosts}}{{.}} {{end}}")
			if !strings.Contains(got, "MAIL_SERVER_NAME="+wantName+" ") || !strings.Contains(got, wantName+":") {
				t.Errorf("container %.12s: %s; want mail server %s", cid, got, wantName)
			}
		}
		before := containers(admin)
		check(before["strict"], "mail.example.com")
		check(before["relaxed"], "mail")

		// The name changes: berth restarts with the new one and re-applies.
		t.Setenv("BERTH_MAIL_FQDN", "smtp.example.org")
		restarted := servertest.StartInstance(t, db, env.Instance, env.DataDir)
		admin2 := restarted.AddUser(t, "bob", schematype.RoleAdmin)
		tasks, err := restarted.Apps.ReapplyMailName(context.Background())
		if err != nil || len(tasks) != 1 {
			t.Fatalf("ReapplyMailName: %d tasks, %v; want 1", len(tasks), err)
		}
		if s := waitTask(t, admin2, tasks[0].ID.String(), func(s taskState) bool { return s.State == "succeeded" || s.State == "failed" }); s.State != "succeeded" {
			t.Fatalf("reconfigure: %+v", s)
		}
		after := containers(admin2)
		check(after["strict"], "smtp.example.org")
		if after["relaxed"] != before["relaxed"] {
			t.Errorf("an app without the option was recreated")
		}
	})
}
