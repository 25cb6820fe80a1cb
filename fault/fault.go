// Package fault defines the errors berth's packages return when the caller,
// not berth, is at fault. Each carries a stable code: the GraphQL layer puts
// it in extensions.code and the CLI prints it.
package fault

import (
	"errors"
	"fmt"
)

// Codes of the faults. They are part of the API: integrations branch on them.
const (
	CodeUnauthenticated    = "UNAUTHENTICATED"
	CodeForbidden          = "FORBIDDEN"
	CodeBadInput           = "BAD_USER_INPUT"
	CodeNotFound           = "NOT_FOUND"
	CodeConflict           = "CONFLICT"
	CodeInvalidCredentials = "INVALID_CREDENTIALS"
)

// Error is a fault with a code, a message for people and, for bad input,
// the field at fault.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Is makes errors.Is match faults by code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Field == "" && t.Message == ""
}

// Sentinels for errors.Is; compare by code only.
var (
	ErrUnauthenticated = &Error{Code: CodeUnauthenticated}
	ErrForbidden       = &Error{Code: CodeForbidden}
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrBadInput        = &Error{Code: CodeBadInput}
	ErrConflict        = &Error{Code: CodeConflict}
)

// Input reports bad input in field.
func Input(field, format string, args ...any) *Error {
	return &Error{Code: CodeBadInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated reports a request without a valid login.
func Unauthenticated(format string, args ...any) *Error {
	return &Error{Code: CodeUnauthenticated, Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports a request the caller's role does not allow.
func Forbidden(format string, args ...any) *Error {
	return &Error{Code: CodeForbidden, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing object.
func NotFound(format string, args ...any) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflict reports a request that clashes with the current state.
func Conflict(field, format string, args ...any) *Error {
	return &Error{Code: CodeConflict, Field: field, Message: fmt.Sprintf(format, args...)}
}

// As returns the fault in err's chain, if any.
func As(err error) (*Error, bool) {
	var f *Error
	ok := errors.As(err, &f)
	return f, ok
}
