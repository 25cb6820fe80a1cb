package servertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Subscription is one GraphQL subscription over its own websocket.
type Subscription struct {
	conn *websocket.Conn
	// Err is set once Next returns false: nil after a complete message.
	Err error
}

// Subscribe opens a websocket, authenticates with the client's token in
// connection_init and starts the subscription.
func (c *Client) Subscribe(ctx context.Context, query string, vars map[string]any) (*Subscription, error) {
	url := "ws" + strings.TrimPrefix(c.URL, "http")
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	conn.SetReadLimit(4 << 20)
	init := map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": c.Token}}
	if err := wsjson.Write(ctx, conn, init); err != nil {
		conn.CloseNow()
		return nil, err
	}
	var ack wsMessage
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		conn.CloseNow()
		return nil, fmt.Errorf("connection_init: %v %+v", err, ack)
	}
	sub := map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}}
	if err := wsjson.Write(ctx, conn, sub); err != nil {
		conn.CloseNow()
		return nil, err
	}
	return &Subscription{conn: conn}, nil
}

// Next decodes the data of the next event into out. It returns false when
// the subscription completed or failed (see Err).
func (s *Subscription) Next(ctx context.Context, out any) bool {
	for {
		var m wsMessage
		if err := wsjson.Read(ctx, s.conn, &m); err != nil {
			s.Err = err
			return false
		}
		switch m.Type {
		case "next":
			var resp struct {
				Data   json.RawMessage `json:"data"`
				Errors Errors          `json:"errors"`
			}
			if err := json.Unmarshal(m.Payload, &resp); err != nil {
				s.Err = err
				return false
			}
			if len(resp.Errors) > 0 {
				s.Err = resp.Errors
				return false
			}
			if err := json.Unmarshal(resp.Data, out); err != nil {
				s.Err = err
				return false
			}
			return true
		case "error":
			var errs Errors
			_ = json.Unmarshal(m.Payload, &errs)
			s.Err = errs
			return false
		case "complete":
			return false
		}
		// ping, pong: keep reading
	}
}

// Close closes the websocket.
func (s *Subscription) Close() { s.conn.Close(websocket.StatusNormalClosure, "") }
