package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"berth/ent"
	"berth/fault"
)

// Codes for errors that are not faults of the caller's making.
const (
	codeInternal = "INTERNAL_SERVER_ERROR"
	codeTooDeep  = "QUERY_TOO_DEEP"
)

// presentError gives every error a stable extensions.code. Faults and ent's
// typed errors say what is wrong; anything else is logged and shown only as
// an internal error, so that no SQL or path leaks to clients.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		var (
			f          *fault.Error
			validation *ent.ValidationError
			notFound   *ent.NotFoundError
			constraint *ent.ConstraintError
			notSingle  *ent.NotSingularError
		)
		switch {
		case errors.As(err, &f):
			gerr.Message = f.Error()
			gerr.Extensions["code"] = f.Code
			if f.Field != "" {
				gerr.Extensions["field"] = f.Field
			}
		case errors.As(err, &validation):
			gerr.Message = fmt.Sprintf("%s: %v", validation.Name, errors.Unwrap(validation))
			gerr.Extensions["code"] = fault.CodeBadInput
			gerr.Extensions["field"] = validation.Name
		case errors.As(err, &notFound):
			gerr.Message = "not found"
			gerr.Extensions["code"] = fault.CodeNotFound
		case errors.As(err, &constraint):
			gerr.Message = "conflicts with existing data"
			gerr.Extensions["code"] = fault.CodeConflict
		case errors.As(err, &notSingle):
			gerr.Extensions["code"] = codeInternal
		case gerr.Extensions["code"] != nil:
			// gqlgen's own: GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, ...
		default:
			var inner *gqlerror.Error
			if errors.As(err, &inner) && inner.Err == nil && inner.Rule != "" {
				break // a validation rule's message is meant for the client
			}
			log.ErrorContext(ctx, "graphql: internal error", "path", gerr.Path.String(), "err", err)
			gerr.Message = "internal error"
			gerr.Extensions["code"] = codeInternal
		}
		return gerr
	}
}

// recoverPanic turns a resolver panic into an internal error and logs it.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql: panic", "panic", p)
		return &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": codeInternal}}
	}
}
