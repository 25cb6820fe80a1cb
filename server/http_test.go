package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"berth/ent/schematype"
	"berth/server/servertest"
	"berth/storage"
	"berth/storage/storagetest"
)

// Requests that are not GraphQL at all, or not valid GraphQL, get a coded
// error and a status code that says so.
func TestMalformedRequests(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		c := env.AddUser(t, "alice", schematype.RoleAdmin)
		deep := "{ apps { edges { node { tasks { edges { node { app { tasks { edges { node { app { tasks { edges { node { id } } } } } } } } } } } } } } }"
		tests := []struct {
			name       string
			query      string
			wantStatus int
			wantCode   string
		}{
			{"syntax error", "{ me { username ", http.StatusBadRequest, "GRAPHQL_PARSE_FAILED"},
			{"unknown field", "{ me { shoeSize } }", http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED"},
			{"bad enum", `{ apps(where: {runState: flying}) { totalCount } }`, http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED"},
			{"too deep", deep, http.StatusOK, "QUERY_TOO_DEEP"},
			{"fine", "{ me { username } }", http.StatusOK, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, err := c.Post(context.Background(), tt.query, nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Status != tt.wantStatus && !(tt.name == "too deep" && resp.Status == http.StatusUnprocessableEntity) {
					t.Errorf("status = %d, want %d", resp.Status, tt.wantStatus)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/graphql-response+json") {
					t.Errorf("content type = %q", ct)
				}
				got := ""
				if len(resp.Errors) > 0 {
					got = resp.Errors[0].Code()
				}
				if got != tt.wantCode {
					t.Errorf("code = %q, want %q (errors %v)", got, tt.wantCode, resp.Errors)
				}
			})
		}

		// Not JSON at all.
		r, err := http.Post(c.URL, "application/json", strings.NewReader("{not json"))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("invalid JSON body: status %d, want 400", r.StatusCode)
		}
	})
}

func TestEndpoints(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		tests := []struct {
			path       string
			wantStatus int
			wantBody   string
		}{
			{"/healthz", http.StatusOK, `"status":"ok"`},
			{"/metrics", http.StatusOK, "go_goroutines"},
			{"/playground", http.StatusOK, "graphiql"},
		}
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				resp, err := http.Get(env.Server.URL + tt.path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tt.wantStatus || !strings.Contains(strings.ToLower(string(body)), strings.ToLower(tt.wantBody)) {
					t.Fatalf("GET %s = %d %.200s", tt.path, resp.StatusCode, body)
				}
			})
		}
		// The metrics count the requests just made.
		resp, err := http.Get(env.Server.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), `berth_http_requests_total{code="200",route="/healthz"} 1`) {
			t.Fatalf("metrics lack the /healthz request:\n%s", body)
		}
	})
}

// graphql-transport-ws: the connection_init payload authenticates.
func TestWebsocketAuth(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, db *storage.DB) {
		env := servertest.Start(t, db)
		c := env.AddUser(t, "alice", schematype.RoleUser)
		wsURL := "ws" + strings.TrimPrefix(c.URL, "http")

		tests := []struct {
			name      string
			payload   map[string]any
			wantAck   bool
			wantClose websocket.StatusCode
		}{
			{"token", map[string]any{"authToken": c.Token}, true, 0},
			{"no token", map[string]any{}, false, 4403},
			{"bad token", map[string]any{"authToken": "berth_forged"}, false, 4403},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
				if err != nil {
					t.Fatal(err)
				}
				defer conn.CloseNow()
				if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": tt.payload}); err != nil {
					t.Fatal(err)
				}
				var msg struct {
					Type    string          `json:"type"`
					ID      string          `json:"id"`
					Payload json.RawMessage `json:"payload"`
				}
				err = wsjson.Read(ctx, conn, &msg)
				if !tt.wantAck {
					if websocket.CloseStatus(err) != tt.wantClose {
						t.Fatalf("read after init = %+v, %v; want close %d", msg, err, tt.wantClose)
					}
					return
				}
				if err != nil || msg.Type != "connection_ack" {
					t.Fatalf("init: %+v %v", msg, err)
				}
				sub := map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ me { username } }"}}
				if err := wsjson.Write(ctx, conn, sub); err != nil {
					t.Fatal(err)
				}
				for msg.Type != "next" {
					if err := wsjson.Read(ctx, conn, &msg); err != nil {
						t.Fatal(err)
					}
				}
				if !strings.Contains(string(msg.Payload), `"username":"alice"`) {
					t.Fatalf("next = %s", msg.Payload)
				}
			})
		}
	})
}
