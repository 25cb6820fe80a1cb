// Package server is berth's HTTP front: GraphQL over HTTP and websockets at
// /graphql, the playground, health and Prometheus metrics, and the SPA.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"

	"berth/app"
	"berth/auth"
	"berth/command"
	"berth/docker"
	"berth/ent"
	"berth/fault"
	"berth/graph"
	"berth/graph/generated"
	"berth/metrics"
	"berth/service"
	"berth/task"
)

// SessionCookieName is the browser's session cookie.
const SessionCookieName = "berth_session"

// Limits on what one GraphQL operation may ask for.
const (
	maxComplexity = 5000
	maxDepth      = 12
)

// Config is what the server serves.
type Config struct {
	Client     *ent.Client
	Auth       *auth.Service
	Apps       *app.Service
	Engine     *docker.Client
	Tasks      *task.Service
	Commands   *command.Queue
	Feed       *task.Feed
	TaskLogDir string
	// Metrics serves the metrics query; Collectors are added to /metrics.
	Metrics    *metrics.Collector
	Collectors []prometheus.Collector
	Builtins   *service.Manager
	Log        *slog.Logger
	// Ping checks the database for /healthz.
	Ping func(context.Context) error
	// SPA serves the single-page app at /.
	SPA http.Handler
}

// Server is berth's HTTP handler.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	metrics *httpMetrics
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cfg.Collectors...)
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: newHTTPMetrics(reg)}

	gql := s.graphqlHandler()
	s.mux.Handle("/graphql", s.authenticate(gql))
	s.mux.Handle("GET /playground", playground.Handler("berth", "/graphql"))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if cfg.SPA != nil {
		s.mux.Handle("/", cfg.SPA)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.metrics.wrap(s.mux).ServeHTTP(w, r)
}

func (s *Server) graphqlHandler() http.Handler {
	r := &graph.Resolver{
		Client:     s.cfg.Client,
		Auth:       s.cfg.Auth,
		Apps:       s.cfg.Apps,
		Logs:       s.cfg.Engine,
		Tasks:      s.cfg.Tasks,
		Commands:   s.cfg.Commands,
		Feed:       s.cfg.Feed,
		TaskLogDir: s.cfg.TaskLogDir,
		Builtins:   s.cfg.Builtins,
		Log:        s.cfg.Log,
	}
	if s.cfg.Metrics != nil {
		r.MetricSamples = s.cfg.Metrics
	}
	h := handler.New(generated.NewExecutableSchema(graph.NewSchema(r)))
	// Transports in order: the first that supports a request serves it.
	h.AddTransport(transport.Websocket{
		InitFunc:              s.websocketInit,
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: 15 * time.Second,
	})
	h.AddTransport(transport.Options{})
	h.AddTransport(transport.GET{UseGrapQLResponseJsonByDefault: true})
	h.AddTransport(transport.POST{UseGrapQLResponseJsonByDefault: true})
	h.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	h.Use(extension.Introspection{})
	h.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	h.Use(extension.FixedComplexityLimit(maxComplexity))
	h.Use(depthLimit{max: maxDepth})
	h.Use(entgql.Transactioner{TxOpener: s.cfg.Client})
	h.SetErrorPresenter(presentError(s.cfg.Log))
	h.SetRecoverFunc(recoverPanic(s.cfg.Log))
	return h
}

// authenticate puts the request's principal (from the bearer token or the
// session cookie) and a session-cookie setter into the request context. A
// request without valid credentials goes on anonymous: login needs none, and
// every other field answers UNAUTHENTICATED by itself.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := graph.WithSessionCookie(r.Context(), &cookieWriter{w: w, secure: r.TLS != nil})
		if secret := requestSecret(r); secret != "" {
			p, err := s.cfg.Auth.Authenticate(ctx, secret)
			switch {
			case err == nil:
				ctx = auth.NewContext(ctx, p)
			case !errors.Is(err, fault.ErrUnauthenticated):
				s.cfg.Log.ErrorContext(ctx, "authenticate", "err", err)
				http.Error(w, "authentication unavailable", http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func requestSecret(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, token, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
	}
	if c, err := r.Cookie(SessionCookieName); err == nil {
		return c.Value
	}
	return ""
}

// websocketInit authenticates a websocket from its connection_init payload
// {authToken}, falling back to the cookie of the upgrade request.
func (s *Server) websocketInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	secret := payload.GetString("authToken")
	if secret == "" {
		secret = strings.TrimPrefix(payload.Authorization(), "Bearer ")
	}
	if secret != "" {
		p, err := s.cfg.Auth.Authenticate(ctx, secret)
		if err != nil {
			return rejectWebsocket(ctx, err), nil, err
		}
		return auth.NewContext(ctx, p), nil, nil
	}
	if auth.FromContext(ctx) == nil {
		err := fault.Unauthenticated("send authToken in connection_init")
		return rejectWebsocket(ctx, err), nil, err
	}
	return ctx, nil, nil
}

// rejectWebsocket makes the transport close the socket with 4403, as
// graphql-transport-ws prescribes for a refused connection_init.
func rejectWebsocket(ctx context.Context, err error) context.Context {
	ctx = transport.WithWebsocketCloseCode(ctx, 4403)
	return transport.AppendCloseReason(ctx, "Forbidden: "+err.Error())
}

type cookieWriter struct {
	w      http.ResponseWriter
	secure bool
}

func (c *cookieWriter) Set(secret string, expires time.Time) {
	http.SetCookie(c.w, &http.Cookie{
		Name: SessionCookieName, Value: secret, Path: "/", Expires: expires,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (c *cookieWriter) Clear() {
	http.SetCookie(c.w, &http.Cookie{
		Name: SessionCookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, code := "ok", http.StatusOK
	if s.cfg.Ping != nil {
		if err := s.cfg.Ping(ctx); err != nil {
			s.cfg.Log.WarnContext(ctx, "healthz: database", "err", err)
			status, code = "database unavailable", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish for up to grace, and closes
// websockets (their subscriptions end with the request contexts).
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
	// Hijacked websocket connections are not tracked by Shutdown: cancelling
	// the base context ends their subscriptions and closes them.
	hs.RegisterOnShutdown(cancelBase)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
