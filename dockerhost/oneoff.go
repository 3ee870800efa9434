package dockerhost

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
)

// Wait blocks until the started container stops running, or ctx ends, and
// returns its exit code. A container already stopped answers at once.
func (h *Host) Wait(ctx context.Context, id string) (int, error) {
	okc, errc := h.engine.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case r := <-okc:
		if r.Error != nil && r.Error.Message != "" {
			return -1, fmt.Errorf("wait for container %s: %s", short(id), r.Error.Message)
		}
		return int(r.StatusCode), nil
	case err := <-errc:
		return -1, fmt.Errorf("wait for container %s: %w", short(id), err)
	}
}

// outputTail bounds the lines Output asks Docker for, so a command that
// printed millions of lines is not read in full for its last few KiB.
const outputTail = 2000

// outputCut is the first line of an Output that lost its beginning.
const outputCut = "[earlier output cut]"

// Output returns the end of what the container wrote to stdout and
// stderr, in Docker's order, one line per line: whole lines while they
// fit in limit bytes, behind a first line saying that earlier output was
// cut; a last line longer than limit keeps its end.
func (h *Host) Output(ctx context.Context, id string, limit int) (string, error) {
	limit = max(limit, 2)
	var lines []string
	size, cut := 0, false
	err := h.Logs(ctx, id, time.Time{}, outputTail, false, func(l LogLine) error {
		lines = append(lines, l.Text)
		size += len(l.Text) + 1
		for size > limit && len(lines) > 1 {
			size -= len(lines[0]) + 1
			lines, cut = lines[1:], true
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(lines) == 1 && size > limit {
		lines[0], cut = lines[0][len(lines[0])-(limit-1):], true
	}
	if len(lines) == 0 {
		return "", nil
	}
	out := strings.Join(lines, "\n") + "\n"
	if cut || len(lines) == outputTail {
		out = outputCut + "\n" + out
	}
	return out, nil
}
