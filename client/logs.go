package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"
)

// logLine is one line of GET /v1/workloads/{name}/logs.
type logLine struct {
	Container string    `json:"container"`
	Time      time.Time `json:"time"`
	Stream    string    `json:"stream"`
	Text      string    `json:"text"`
}

// LogsMain runs `tinyforge logs WORKLOAD [-f] [--since D] [--tail N]`:
// the logs of the container serving WORKLOAD, read by the sidecar from
// Docker; with -f it follows them across deploys (container names change
// with each deploy: a line "==> NAME <==" on stderr marks the switch).
func LogsMain(args []string, stdout, stderr io.Writer) int {
	fs, a := command("logs", "usage: tinyforge logs [flags] WORKLOAD\n\n"+
		"Prints the logs of the container serving WORKLOAD; -f follows them, across deploys.", stderr, os.Getenv)
	follow := fs.Bool("f", false, "follow: keep printing new lines, from the next container after a deploy")
	fs.BoolVar(follow, "follow", false, "same as -f")
	since := fs.String("since", "", "lines since a duration ago (10m) or an RFC 3339 time")
	tail := fs.Int("tail", 100, "lines from the end to start with (without --since)")
	pos, code, ok := a.start(fs, args, 1, 1)
	if !ok {
		return code
	}
	q := url.Values{"tail": {strconv.Itoa(*tail)}}
	if *follow {
		q.Set("follow", "true")
	}
	if *since != "" {
		q.Set("since", *since)
	}
	body, err := a.open(context.Background(), "/v1/workloads/"+url.PathEscape(pos[0])+"/logs?"+q.Encode())
	if err != nil {
		fmt.Fprintln(stderr, "tinyforge logs:", err)
		return ExitFailed
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	current := ""
	for sc.Scan() {
		if a.json {
			fmt.Fprintln(stdout, sc.Text())
			continue
		}
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			fmt.Fprintln(stderr, "tinyforge logs: unreadable line:", err)
			return ExitFailed
		}
		if l.Container != current {
			if current != "" || *follow {
				fmt.Fprintf(stderr, "==> %s <==\n", l.Container)
			}
			current = l.Container
		}
		fmt.Fprintln(stdout, l.Text)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(stderr, "tinyforge logs:", err)
		return ExitFailed
	}
	return ExitOK
}
