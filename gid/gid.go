// Package gid implements berth's global object IDs.
//
// An ID is a short type prefix, an underscore and a ULID, for example
// "task_01JDB7Q9V2X0M4ZK3T8N5R6W1C". The prefix makes every ID globally
// unique and tells its type without a database round trip (the Relay node
// resolver relies on that); the ULID sorts by creation time.
package gid

import (
	"database/sql/driver"
	"fmt"
	"io"
	"strconv"
	"strings"

	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
	"github.com/oklog/ulid/v2"
)

// ID is a prefixed ULID.
type ID string

// New returns a new ID with the given type prefix.
func New(prefix string) ID {
	return ID(prefix + "_" + ulid.Make().String())
}

// Prefix returns the type prefix of id, or "" when id has none.
func (id ID) Prefix() string {
	p, _, ok := strings.Cut(string(id), "_")
	if !ok {
		return ""
	}
	return p
}

// Validate reports whether id is well formed.
func (id ID) Validate() error {
	p, u, ok := strings.Cut(string(id), "_")
	if !ok || p == "" {
		return fmt.Errorf("id %q: missing type prefix", string(id))
	}
	if _, err := ulid.ParseStrict(u); err != nil {
		return fmt.Errorf("id %q: %w", string(id), err)
	}
	return nil
}

func (id ID) String() string { return string(id) }

// MarshalGQL implements graphql.Marshaler.
func (id ID) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(string(id)))
}

// UnmarshalGQL implements graphql.Unmarshaler.
func (id *ID) UnmarshalGQL(v any) error {
	switch v := v.(type) {
	case string:
		*id = ID(v)
	case ID: // the generated node resolver passes IDs through here
		*id = v
	default:
		return fmt.Errorf("id must be a string, not %T", v)
	}
	return nil
}

// Scan implements sql.Scanner.
func (id *ID) Scan(src any) error {
	switch src := src.(type) {
	case string:
		*id = ID(src)
	case []byte:
		*id = ID(src)
	case nil:
		return fmt.Errorf("gid: NULL id")
	default:
		return fmt.Errorf("gid: cannot scan %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) { return string(id), nil }

// Annotation records the prefix of a schema's IDs for code generation.
type Annotation struct {
	Prefix string
}

// Name implements schema.Annotation.
func (Annotation) Name() string { return "GID" }

// Mixin gives a schema an "id" field of prefixed IDs.
type Mixin struct {
	mixin.Schema
	prefix string
}

// MixinWithPrefix returns the ID mixin for a schema whose IDs start with prefix.
func MixinWithPrefix(prefix string) Mixin {
	return Mixin{prefix: prefix}
}

// Fields implements ent.Mixin.
func (m Mixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			GoType(ID("")).
			MaxLen(40).
			NotEmpty().
			Immutable().
			DefaultFunc(func() ID { return New(m.prefix) }),
	}
}

// Annotations implements ent.Mixin.
func (m Mixin) Annotations() []schema.Annotation {
	return []schema.Annotation{Annotation{Prefix: m.prefix}}
}
