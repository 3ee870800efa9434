package client

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"github.com/tinyforge/tinyforge/deploystream"
)

// readSSE reads Server-Sent Events from r and hands each event's decoded
// data to fn until the stream ends or fn returns false; comments
// (heartbeats) are skipped.
func readSSE(r io.Reader, fn func(kind string, ev deploystream.Event) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var kind string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				var ev deploystream.Event
				if json.Unmarshal([]byte(data.String()), &ev) == nil && !fn(kind, ev) {
					return nil
				}
			}
			kind = ""
			data.Reset()
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			kind = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return sc.Err()
}
