package server_test

import (
	"os"
	"testing"

	"berth/server/servertest"
	"berth/task"
)

// The test binary doubles as `berth task run ID` for the runner of the
// servers under test.
func TestMain(m *testing.M) {
	task.SubprocessFromEnv(servertest.Handlers)
	os.Exit(m.Run())
}
