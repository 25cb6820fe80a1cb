package task

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"berth/ent/schematype"
)

// A subprocess reports to its runner by writing one JSON message per line on
// its stdout; anything it writes to stderr goes to the task log as is.
// Keeping the runner the only writer of the task row means a subprocess
// needs no lock on it and a dead subprocess cannot leave it half-written.
type message struct {
	Kind    string              `json:"k"`
	State   string              `json:"state,omitempty"`   // kind "state": waiting or running
	Percent *int                `json:"percent,omitempty"` // kind "progress"
	Text    string              `json:"text,omitempty"`    // the message (state, progress) or log line (log)
	Result  map[string]any      `json:"result,omitempty"`  // kind "done"
	Error   *schematype.Failure `json:"error,omitempty"`   // kind "failed"
}

// Message kinds.
const (
	kindState    = "state"
	kindProgress = "progress"
	kindLog      = "log"
	kindDone     = "done"
	kindFailed   = "failed"
)

// reporter writes messages to the runner. Safe for concurrent use.
type reporter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newReporter(w io.Writer) *reporter { return &reporter{enc: json.NewEncoder(w)} }

func (r *reporter) send(m message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.enc.Encode(m); err != nil {
		return fmt.Errorf("report to runner: %w", err)
	}
	return nil
}
