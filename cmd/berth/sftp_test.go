package main_test

import (
	"net"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"berth/storage/storagetest"
)

// berth serve offers the file-access service: SFTP with berth's users.
func TestServeSFTP(t *testing.T) {
	cfg := storagetest.Config(t, "sqlite3")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := startServe(t, cfg, "BERTH_ADMIN_PASSWORD=sftp-password", "BERTH_SFTP_LISTEN="+addr)
	defer s.stop(t)

	dial := func(password string) (*ssh.Client, error) {
		var c *ssh.Client
		var err error
		for range 50 { // the service starts beside the HTTP server
			c, err = ssh.Dial("tcp", addr, &ssh.ClientConfig{
				User:            "admin",
				Auth:            []ssh.AuthMethod{ssh.Password(password)},
				HostKeyCallback: ssh.InsecureIgnoreHostKey(),
				Timeout:         5 * time.Second,
			})
			if _, refused := err.(*net.OpError); !refused {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return c, err
	}
	if _, err := dial("wrong password"); err == nil {
		t.Fatal("SFTP accepted a wrong password")
	}
	conn, err := dial("sftp-password")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	entries, err := client.ReadDir("/")
	if err != nil || len(entries) != 0 {
		t.Fatalf("root of a berth without apps: %v %v", entries, err)
	}
}
