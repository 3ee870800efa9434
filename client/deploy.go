package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/deploystream"
)

// deployReply is the 202 of POST /v1/deploy.
type deployReply struct {
	Accepted  []string `json:"accepted"`
	Duplicate []string `json:"duplicate,omitempty"`
	Ignored   []string `json:"ignored,omitempty"`
}

// DeployMain runs `tinyforge deploy WORKLOAD [TAG] [--wait]`: it asks the
// sidecar to deploy TAG (default: the workload's default tag) through
// POST /v1/deploy; with --wait it follows the deploy stream, shows each
// step as it happens and exits ExitDeployFailed unless the deploy served
// what was asked.
func DeployMain(args []string, stdout, stderr io.Writer) int {
	fs, a := command("deploy", "usage: tinyforge deploy [flags] WORKLOAD [TAG]\n\n"+
		"Deploys TAG (default: the workload's default tag) of WORKLOAD, blue-green, through the sidecar's deploy API.", stderr, os.Getenv)
	wait := fs.Bool("wait", false, "follow the deploy's steps and exit non-zero unless it succeeds")
	timeout := fs.Duration("timeout", 10*time.Minute, "with --wait, how long to wait for the outcome")
	pos, code, ok := a.start(fs, args, 1, 2)
	if !ok {
		return code
	}
	workload, tag := pos[0], ""
	if len(pos) == 2 {
		tag = pos[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var stream io.ReadCloser
	if *wait { // subscribe first: no step can be missed
		var err error
		if stream, err = a.open(ctx, "/v1/deploys/stream?workload="+url.QueryEscape(workload)); err != nil {
			fmt.Fprintln(stderr, "tinyforge deploy:", err)
			return ExitFailed
		}
		defer stream.Close()
	}
	posted := time.Now()
	var reply deployReply
	if _, err := a.call(ctx, http.MethodPost, "/v1/deploy", map[string]string{"workload": workload, "tag": tag}, &reply); err != nil {
		fmt.Fprintln(stderr, "tinyforge deploy:", err)
		return ExitFailed
	}
	if !*wait {
		if a.json {
			printJSON(stdout, reply)
		} else {
			for _, s := range reply.Accepted {
				fmt.Fprintf(stdout, "deploy of %s accepted\n", s)
			}
			for _, s := range reply.Duplicate {
				fmt.Fprintf(stdout, "deploy of %s was already accepted (same Idempotency-Key)\n", s)
			}
		}
		return ExitOK
	}
	w := &waiter{a: a, workload: workload, tag: tagOf(reply, tag), posted: posted, out: stdout, json: a.json, tty: isTerminal(stdout)}
	ev, err := w.run(ctx, stream)
	w.endLine()
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "tinyforge deploy:", err)
		return ExitDeployFailed
	case a.json:
		printJSON(stdout, ev)
	default:
		fmt.Fprintf(stdout, "%s %s: %s in %s\n", workload, ev.Image, ev.Outcome, ev.Took.Round(time.Millisecond))
	}
	if !deploystream.Succeeded(ev.Outcome) && !strings.HasPrefix(ev.Outcome, "duplicate") {
		return ExitDeployFailed
	}
	return ExitOK
}

// tagOf is the tag the sidecar accepted ("web:v2" -> v2), the one asked
// for when the reply names none.
func tagOf(r deployReply, asked string) string {
	for _, s := range append(r.Accepted, r.Duplicate...) {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			return s[i+1:]
		}
	}
	return asked
}

// isTerminal reports whether w is a terminal, where the progress line is
// redrawn in place; elsewhere each step gets its own line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// waiter follows one deploy of a workload's tag to its outcome.
type waiter struct {
	a        *api
	workload string
	tag      string
	posted   time.Time
	out      io.Writer
	json     bool
	tty      bool
	deploy   string // the deploy id, once its first step is seen
	drawn    bool   // a progress line is open on the terminal
}

// run returns the outcome of the deploy: from its "finished" event on the
// stream, or, for requests that end before the deployer records anything
// (already serving, tag not in the registry), from the workload's events.
func (w *waiter) run(ctx context.Context, stream io.ReadCloser) (deploystream.Event, error) {
	done := make(chan deploystream.Event, 1)
	read := make(chan struct{})
	defer func() { stream.Close(); <-read }() // no progress is written after run returns
	go func() {
		defer close(read)
		_ = readSSE(stream, func(kind string, ev deploystream.Event) bool {
			if !w.mine(ev) {
				return true
			}
			if kind == deploystream.TypeFinished {
				done <- ev
				return false
			}
			w.progress(ev)
			return true
		})
	}()
	poll := time.NewTicker(2 * time.Second)
	defer poll.Stop()
	for {
		select {
		case ev := <-done:
			return ev, nil
		case <-poll.C:
			if ev, ok := w.recorded(ctx); ok {
				return ev, nil
			}
		case <-ctx.Done():
			return deploystream.Event{}, fmt.Errorf("no outcome for %s:%s before the timeout: see tinyforge deploys %s", w.workload, w.tag, w.workload)
		}
	}
}

// mine reports whether ev belongs to the deploy being waited for: the
// workload's first deploy of the tag after the request, then that deploy
// id.
func (w *waiter) mine(ev deploystream.Event) bool {
	if w.deploy != "" {
		return ev.Deploy == w.deploy
	}
	if ev.Workload != w.workload || (w.tag != "" && ev.Tag != w.tag) {
		return false
	}
	w.deploy = ev.Deploy
	return true
}

// recorded looks in the workload's events for an outcome of the request
// recorded after it was posted: a finished deploy, or a request that
// ended before the deployer (duplicate: already serving; failed: tag not
// found).
func (w *waiter) recorded(ctx context.Context) (deploystream.Event, bool) {
	var out struct{ Events []deployer.Event }
	if _, err := w.a.call(ctx, http.MethodGet, "/v1/workloads/"+url.PathEscape(w.workload)+"/events?n=20", nil, &out); err != nil {
		return deploystream.Event{}, false
	}
	for _, ev := range out.Events {
		if ev.Time.Before(w.posted.Add(-time.Second)) || !strings.HasSuffix(ev.Image, ":"+w.tag) || strings.HasPrefix(ev.Outcome, "accepted") {
			continue
		}
		if ev.Deploy != "" && w.deploy != "" && ev.Deploy != w.deploy {
			continue
		}
		if ev.Deploy == "" && !strings.HasPrefix(ev.Outcome, "duplicate") && !strings.HasPrefix(ev.Outcome, "failed") {
			continue
		}
		return deploystream.FinishedEvent(w.workload, ev), true
	}
	return deploystream.Event{}, false
}

// progress shows the steps so far: one line redrawn on a terminal, a line
// per step elsewhere, the event as JSON with --json.
func (w *waiter) progress(ev deploystream.Event) {
	switch {
	case w.json:
		printJSONLine(w.out, ev)
	case w.tty:
		var b strings.Builder
		fmt.Fprintf(&b, "\r\033[K%s %s [%s]", w.workload, ev.Image, ev.Deploy)
		for _, st := range ev.Steps {
			fmt.Fprintf(&b, " %s %s ›", st.Step, st.Took.Round(time.Millisecond))
		}
		fmt.Fprint(w.out, strings.TrimSuffix(b.String(), " ›"))
		w.drawn = true
	default:
		fmt.Fprintf(w.out, "%s %s [%s] %s (%s)\n", w.workload, ev.Image, ev.Deploy, ev.Step, ev.Took.Round(time.Millisecond))
	}
}

// endLine ends an open progress line.
func (w *waiter) endLine() {
	if w.drawn {
		fmt.Fprintln(w.out)
	}
}

// printJSONLine writes v as one line of JSON.
func printJSONLine(w io.Writer, v any) { _ = json.NewEncoder(w).Encode(v) }
