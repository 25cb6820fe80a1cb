package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// maxLogLine bounds how much of a line without a newline Logs holds back;
// past it the part is passed on as a line of its own.
const maxLogLine = 64 << 10

// Logs returns the container's output: stdout and stderr interleaved, each
// chunk a whole line (a stream's unterminated last line comes at the end).
// tail is how many past lines to start with (negative: all); with follow
// the reader then waits for new output until the container stops, ctx ends
// or it is closed. The caller must close it.
func (c *Client) Logs(ctx context.Context, id string, follow bool, tail int) (io.ReadCloser, error) {
	in, err := c.inspectOwned(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("docker: logs of %s: %w", id, err)
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Tail: "all"}
	if tail >= 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	body, err := c.api.ContainerLogs(ctx, in.ID, opts)
	if err != nil {
		return nil, fmt.Errorf("docker: logs of %s: %w", displayName(in), classify(err))
	}
	if in.Config != nil && in.Config.Tty {
		return body, nil // a TTY's output is one stream already
	}
	pr, pw := io.Pipe()
	go func() {
		defer body.Close()
		stdout, stderr := &lineWriter{w: pw}, &lineWriter{w: pw}
		_, err := stdcopy.StdCopy(stdout, stderr, body)
		if err == nil {
			err = stdout.flush()
		}
		if err == nil {
			err = stderr.flush()
		}
		pw.CloseWithError(err) // nil: the reader sees io.EOF
	}()
	return &logReader{PipeReader: pr, body: body}, nil
}

// logReader closes the engine's response too, so that Close ends a follow
// that is waiting for output.
type logReader struct {
	*io.PipeReader
	body io.Closer
}

func (r *logReader) Close() error {
	r.body.Close()
	return r.PipeReader.Close()
}

// lineWriter passes on whole lines only, holding back a partial one until
// its end arrives, so that lines of stdout and stderr never mix. The two
// writers of one Logs call share w but are driven by one goroutine.
type lineWriter struct {
	w       io.Writer
	partial []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
		line := append(l.partial, p[:i+1]...)
		l.partial = l.partial[:0]
		if _, err := l.w.Write(line); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	l.partial = append(l.partial, p...)
	if len(l.partial) >= maxLogLine {
		return n, l.flush()
	}
	return n, nil
}

// flush passes on a held-back partial line, ended with a newline.
func (l *lineWriter) flush() error {
	if len(l.partial) == 0 {
		return nil
	}
	line := append(l.partial, '\n')
	l.partial = nil
	_, err := l.w.Write(line)
	return err
}
