// Package schematype holds the value types stored in JSON columns of the ent
// schema. They have no behaviour of their own; the packages that own each
// table validate and interpret them.
package schematype

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// Protocol is the transport of a published port.
type Protocol string

const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// PortBinding is where a port an app asks for (by environment variable) is
// published on the host. Count consecutive ports starting at HostPort are
// published; the variable holds HostPort.
type PortBinding struct {
	HostPort int      `json:"hostPort"`
	Count    int      `json:"count"`
	Type     Protocol `json:"type"`
}

// PortBindings maps an environment variable to its binding.
type PortBindings map[string]PortBinding

// ChecklistItem is one entry of an app's post-install checklist.
type ChecklistItem struct {
	Text   string     `json:"text"`
	Done   bool       `json:"done"`
	DoneBy string     `json:"doneBy,omitempty"`
	DoneAt *time.Time `json:"doneAt,omitempty"`
}

// Failure is what went wrong in a task or an app operation. Code is stable
// (callers branch on it); Step names the step of a multi-step operation.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Step    string `json:"step,omitempty"`
}

// Retention says which backups of a site are kept. A backup is kept when any
// rule keeps it; the newest backup is always kept.
type Retention struct {
	KeepWithinSeconds int `json:"keepWithinSeconds,omitempty"`
	KeepDaily         int `json:"keepDaily,omitempty"`
	KeepWeekly        int `json:"keepWeekly,omitempty"`
	KeepMonthly       int `json:"keepMonthly,omitempty"`
}

// AppConfig is an app's configuration as of one moment, stored with app
// backups so that a clone or an unarchive restores the app as it was then
// (notes, operators and checklist included), not as it is now.
type AppConfig struct {
	Image          string            `json:"image"`
	Location       string            `json:"location"`
	Env            map[string]string `json:"env,omitempty"`
	PortBindings   PortBindings      `json:"portBindings,omitempty"`
	CPUQuota       int               `json:"cpuQuota"`
	MemoryLimit    int64             `json:"memoryLimit"`
	Notes          string            `json:"notes,omitempty"`
	OperatorIDs    []string          `json:"operatorIds,omitempty"`
	Checklist      []ChecklistItem   `json:"checklist,omitempty"`
	MailServerFQDN bool              `json:"mailServerFqdn,omitempty"`
}

// Role is what a user or an API token may do. Roles are ordered: an owner may
// do all an admin may, an admin all a user may.
type Role string

const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
	RoleUser  Role = "user"
)

// Values lists the roles, for the ent enum.
func (Role) Values() []string {
	return []string{string(RoleOwner), string(RoleAdmin), string(RoleUser)}
}

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleUser:
		return 1
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// MarshalGQL implements graphql.Marshaler.
func (r Role) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(r))) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (r *Role) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !Role(s).Valid() {
		return fmt.Errorf("%v is not a valid Role", v)
	}
	*r = Role(s)
	return nil
}

// Error makes a Failure an error, so that it can travel up a call chain and
// keep its code.
func (f *Failure) Error() string {
	if f.Step != "" {
		return f.Step + ": " + f.Message
	}
	return f.Message
}
