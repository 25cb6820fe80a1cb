package task

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"berth/ent"
	"berth/gid"
)

// ReadLog calls fn with each line of the task's log after line from (lines
// count from 1), and returns the number of the last line read. A log not
// written yet reads as empty.
func ReadLog(dir string, id gid.ID, from int, fn func(LogLine) error) (int, error) {
	f, err := os.Open(LogPath(dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return from, nil
	}
	if err != nil {
		return from, fmt.Errorf("open log of %s: %w", id, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	n := 0
	for sc.Scan() {
		n++
		if n <= from {
			continue
		}
		if err := fn(LogLine{Task: id, Line: n, Text: sc.Text()}); err != nil {
			return n, err
		}
	}
	return max(n, from), sc.Err()
}

// FollowLog sends the task's log after line from, then each new line as it
// is written, until the task finishes or ctx ends; it closes out then. The
// log is read from the file and followed through the feed, so it works for
// tasks of this host's runner.
func FollowLog(ctx context.Context, client *ent.Client, feed *Feed, dir string, id gid.ID, from int, out chan<- LogLine) error {
	defer close(out)
	// Subscribe before reading, so that no line falls between the two.
	lines := feed.Logs.Subscribe(ctx, func(l LogLine) bool { return l.Task == id })
	changes := feed.Tasks.Subscribe(ctx, func(t *ent.Task) bool { return t.ID == id })
	send := func(l LogLine) error {
		select {
		case out <- l:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	last, err := ReadLog(dir, id, from, send)
	if err != nil {
		return err
	}
	t, err := client.Task.Get(ctx, id)
	if err != nil {
		return err
	}
	finished := Terminal(t.State)
	for !finished {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return errors.New("log follower fell behind; subscribe again")
			}
			if l.Line <= last {
				continue
			}
			if l.Line > last+1 { // missed some: read them from the file
				if last, err = ReadLog(dir, id, last, send); err != nil {
					return err
				}
				continue
			}
			if err := send(l); err != nil {
				return nil
			}
			last = l.Line
		case t, ok := <-changes:
			finished = !ok || Terminal(t.State)
		}
	}
	// The runner writes the last lines before the final state: read them.
	_, err = ReadLog(dir, id, last, send)
	return err
}
