package graph

import (
	"errors"

	"berth/fault"
	"berth/graph/model"
	"berth/service"
)

func builtinService(st service.Status) *model.BuiltinService {
	out := &model.BuiltinService{Name: st.Name, State: st.State, Restarts: st.Restarts}
	if st.Error != "" {
		out.Error = &st.Error
	}
	if !st.StartedAt.IsZero() {
		out.StartedAt = &st.StartedAt
	}
	return out
}

func serviceError(name string, err error) error {
	if errors.Is(err, service.ErrUnknown) {
		return fault.Input("name", "no built-in service %q", name)
	}
	return err
}
