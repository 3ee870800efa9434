package dockerhost

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
)

// LogLine is one line a container wrote, as Docker kept it.
type LogLine struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"` // stdout or stderr
	Text   string    `json:"text"`
}

// maxLogLine bounds one line handed on; a longer one is cut into pieces.
const maxLogLine = 64 << 10

// Logs reads the log lines of container id written since since (zero:
// from the start, or the last tail lines when tail > 0), following new
// ones when follow, and hands each to fn in the order Docker sent them.
// It returns when the log ends (the container stopped, when following),
// ctx ends, or fn returns an error.
func (h *Host) Logs(ctx context.Context, id string, since time.Time, tail int, follow bool, fn func(LogLine) error) error {
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Follow: follow}
	if !since.IsZero() {
		opts.Since = strconv.FormatInt(since.Unix(), 10) + "." + fmt.Sprintf("%09d", since.Nanosecond())
	} else if tail > 0 {
		opts.Tail = strconv.Itoa(tail)
	}
	rc, err := h.engine.ContainerLogs(ctx, id, opts)
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", short(id), err)
	}
	defer rc.Close()
	err = demuxLogs(rc, fn)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("logs of container %s: %w", short(id), err)
	}
	return nil
}

// demuxLogs splits Docker's log stream into lines: the multiplexed form
// (8-byte frame headers: stream, 0, 0, 0, big-endian size) of a container
// without a TTY, or the raw form of one with a TTY (all stdout).
func demuxLogs(r io.Reader, fn func(LogLine) error) error {
	br := bufio.NewReaderSize(r, 32<<10)
	first, err := br.Peek(8)
	if err != nil && len(first) == 0 {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	if len(first) < 8 || first[0] > 2 || first[1] != 0 || first[2] != 0 || first[3] != 0 {
		return splitLines(br, "stdout", fn)
	}
	pending := map[byte]*bytes.Buffer{1: {}, 2: {}}
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			if errors.Is(err, io.EOF) {
				return flushPending(pending, fn)
			}
			return err
		}
		kind := hdr[0]
		if kind == 0 {
			kind = 1
		}
		size := binary.BigEndian.Uint32(hdr[4:])
		buf := pending[kind]
		if buf == nil {
			return fmt.Errorf("log frame of unknown stream %d", hdr[0])
		}
		if _, err := io.CopyN(buf, br, int64(size)); err != nil {
			return err
		}
		if err := emitLines(buf, streamName(kind), false, fn); err != nil {
			return err
		}
	}
}

// splitLines reads a raw (TTY) log stream line by line.
func splitLines(r io.Reader, stream string, fn func(LogLine) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLogLine)
	for sc.Scan() {
		if err := fn(parseLogLine(stream, sc.Text())); err != nil {
			return err
		}
	}
	return sc.Err()
}

// emitLines hands on every complete line in buf (with final, the rest
// too), keeping a partial last line for the next frame.
func emitLines(buf *bytes.Buffer, stream string, final bool, fn func(LogLine) error) error {
	for {
		b := buf.Bytes()
		i := bytes.IndexByte(b, '\n')
		if i < 0 && (final || len(b) >= maxLogLine) && len(b) > 0 {
			i = min(len(b), maxLogLine)
		} else if i < 0 {
			return nil
		}
		line := string(bytes.TrimRight(b[:i], "\r"))
		buf.Next(min(i+1, len(b)))
		if err := fn(parseLogLine(stream, line)); err != nil {
			return err
		}
	}
}

func flushPending(pending map[byte]*bytes.Buffer, fn func(LogLine) error) error {
	for _, k := range []byte{1, 2} {
		if err := emitLines(pending[k], streamName(k), true, fn); err != nil {
			return err
		}
	}
	return nil
}

func streamName(kind byte) string {
	if kind == 2 {
		return "stderr"
	}
	return "stdout"
}

// parseLogLine splits the timestamp Docker prefixes (Timestamps: true)
// from the text.
func parseLogLine(stream, line string) LogLine {
	if i := bytes.IndexByte([]byte(line), ' '); i > 0 {
		if t, err := time.Parse(time.RFC3339Nano, line[:i]); err == nil {
			return LogLine{Time: t, Stream: stream, Text: line[i+1:]}
		}
	}
	return LogLine{Stream: stream, Text: line}
}
