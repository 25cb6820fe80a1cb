// Package fileaccess is berth's built-in SFTP endpoint: it lets admins and
// app operators reach the data of the apps they may see.
//
// The service serves the parent of all app data directories,
// <dataRoot>/apps, and works out on every request which apps the logged-in
// user sees. Nothing is rebuilt or remounted when apps are installed,
// removed or change operators, which is what made the older per-app mounts
// race with app tasks (see DESIGN.md, problem 10).
package fileaccess

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// ErrInvalidCredentials is what Users.Login returns for an unknown user, a
// wrong password or a disabled account, so that the server can tell a
// failed login from a broken database.
var ErrInvalidCredentials = errors.New("invalid username or password")

// Users authenticates berth users and says which apps they may see.
type Users interface {
	// Login checks a password. It returns ErrInvalidCredentials (possibly
	// wrapped) when the user may not log in.
	Login(ctx context.Context, username, password string) (userID string, isAdmin bool, err error)
	// VisibleApps maps the location of every app the user may see to its
	// ID. It is called on every file operation, so it must be cheap.
	VisibleApps(ctx context.Context, userID string, isAdmin bool) (map[string]string, error)
	// VisibleVolumes maps the name of every volume the user may see to its
	// host path. Volumes appear in the root as "@<name>": no app location
	// starts with "@".
	VisibleVolumes(ctx context.Context, userID string, isAdmin bool) (map[string]string, error)
}

// Config configures a Server.
type Config struct {
	// Listen is the address ListenAndServe listens on, for example
	// "127.0.0.1:2222".
	Listen string
	// DataRoot holds apps/<appID>/data for every app.
	DataRoot string
	// HostKeyPath is where the SSH host key is kept. An ed25519 key is
	// generated there on first start and reused afterwards, so that
	// clients' known_hosts stay valid.
	HostKeyPath string
	Users       Users
	Log         *slog.Logger
}

// handshakeTimeout bounds the SSH handshake and login: a client that opens
// a connection and says nothing must not hold it forever.
const handshakeTimeout = 30 * time.Second

// maxAuthTries is how many passwords a connection may try.
const maxAuthTries = 3

// Permission extension keys carrying the login result from the password
// callback to the session.
const (
	extUserID = "berth-user-id"
	extAdmin  = "berth-admin"
)

// Server is the SFTP endpoint.
type Server struct {
	listen  string
	appsDir string
	users   Users
	log     *slog.Logger
	hostKey ssh.Signer
}

// New returns a Server, creating the host key if there is none yet.
func New(cfg Config) (*Server, error) {
	if cfg.DataRoot == "" {
		return nil, errors.New("fileaccess: data root not set")
	}
	if cfg.HostKeyPath == "" {
		return nil, errors.New("fileaccess: host key path not set")
	}
	if cfg.Users == nil {
		return nil, errors.New("fileaccess: users not set")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	root, err := filepath.Abs(cfg.DataRoot)
	if err != nil {
		return nil, fmt.Errorf("fileaccess: data root: %w", err)
	}
	key, err := loadOrCreateHostKey(cfg.HostKeyPath)
	if err != nil {
		return nil, fmt.Errorf("fileaccess: %w", err)
	}
	return &Server{
		listen:  cfg.Listen,
		appsDir: filepath.Join(root, "apps"),
		users:   cfg.Users,
		log:     cfg.Log,
		hostKey: key,
	}, nil
}

// HostKey returns the server's public host key, for showing its
// fingerprint to users who connect for the first time.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey.PublicKey() }

// ListenAndServe listens on the configured address and serves until ctx
// ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.listen)
	if err != nil {
		return fmt.Errorf("sftp listen on %s: %w", s.listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts SFTP connections on ln until ctx ends, then closes ln and
// every open connection and returns nil once all sessions are gone.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	s.log.Info("sftp serving", "addr", ln.Addr().String(), "host_key", ssh.FingerprintSHA256(s.HostKey()))
	var wg sync.WaitGroup
	var err error
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("sftp accept: %w", aerr)
			}
			break
		}
		wg.Go(func() { s.serveConn(ctx, c) })
	}
	cancel() // ends the sessions still open
	wg.Wait()
	return err
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	// Closing the connection is the only way to interrupt the handshake
	// and the SFTP server, both blocked in reads.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	log := s.log.With("remote", c.RemoteAddr().String())

	cfg := &ssh.ServerConfig{
		MaxAuthTries: maxAuthTries,
		PasswordCallback: func(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
			id, admin, err := s.users.Login(ctx, meta.User(), string(password))
			if err != nil {
				if errors.Is(err, ErrInvalidCredentials) {
					log.Info("sftp login failed", "user", meta.User())
				} else {
					log.Error("sftp login", "user", meta.User(), "err", err)
				}
				return nil, ErrInvalidCredentials
			}
			ext := map[string]string{extUserID: id}
			if admin {
				ext[extAdmin] = "1"
			}
			return &ssh.Permissions{Extensions: ext}, nil
		},
		ServerVersion: "SSH-2.0-berth",
	}
	cfg.AddHostKey(s.hostKey)

	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		log.Debug("ssh handshake", "err", err)
		return
	}
	defer sc.Close()
	_ = c.SetDeadline(time.Time{})
	go ssh.DiscardRequests(reqs)

	u := user{id: sc.Permissions.Extensions[extUserID], admin: sc.Permissions.Extensions[extAdmin] == "1"}
	log = log.With("user", sc.User())
	log.Info("sftp login", "admin", u.admin)
	defer log.Info("sftp logout")

	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions are supported")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			log.Debug("accept ssh channel", "err", err)
			continue
		}
		wg.Go(func() { s.serveSession(ctx, log, u, ch, chReqs) })
	}
	wg.Wait()
}

// shellMessage answers clients asking for a shell or a command.
const shellMessage = "berth: this endpoint only offers SFTP (for example: sftp -P <port> user@host)\n"

// serveSession runs one SSH session channel: the sftp subsystem, or a
// message for anything else.
func (s *Server) serveSession(ctx context.Context, log *slog.Logger, u user, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	started := false
	for req := range reqs {
		switch req.Type {
		case "subsystem":
			var p struct{ Name string }
			if started || ssh.Unmarshal(req.Payload, &p) != nil || p.Name != "sftp" {
				_ = req.Reply(false, nil)
				continue
			}
			started = true
			_ = req.Reply(true, nil)
			// The request channel must keep being drained while SFTP runs,
			// so the SFTP server gets its own goroutine and closes the
			// channel (which ends this loop) when done.
			go func() {
				defer ch.Close()
				fs := &fsys{srv: s, ctx: ctx, log: log, user: u}
				rs := sftp.NewRequestServer(ch, sftp.Handlers{FileGet: fs, FilePut: fs, FileCmd: fs, FileList: fs})
				if err := rs.Serve(); err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
					log.Debug("sftp session ended", "err", err)
				}
				_ = rs.Close()
			}()
		case "shell", "exec":
			// Replying true and then explaining is what makes ssh clients
			// show the message instead of a bare "request failed".
			_ = req.Reply(true, nil)
			_, _ = io.WriteString(ch.Stderr(), shellMessage)
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{1}))
			return
		default:
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
}
