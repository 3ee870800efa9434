package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/overview"
)

// DeploysMain runs `tinyforge deploys [flags] WORKLOAD`: the workload's
// deploy history, newest first, under a header line.
func DeploysMain(args []string, stdout, stderr io.Writer) int {
	fs, a := command("deploys", "usage: tinyforge deploys [flags] WORKLOAD\n\nShows the deploy history of WORKLOAD, newest first.", stderr, os.Getenv)
	limit := fs.Int("limit", 20, "how many deploys to show")
	pos, code, ok := a.start(fs, args, 1, 1)
	if !ok {
		return code
	}
	var out struct {
		Workload string           `json:"workload"`
		Deploys  []deployer.Event `json:"deploys"`
	}
	path := "/v1/workloads/" + url.PathEscape(pos[0]) + "/deploys?limit=" + strconv.Itoa(*limit)
	if _, err := a.call(context.Background(), http.MethodGet, path, nil, &out); err != nil {
		fmt.Fprintln(stderr, "tinyforge deploys:", err)
		return ExitFailed
	}
	if a.json {
		printJSON(stdout, out)
		return ExitOK
	}
	fmt.Fprint(stdout, formatDeploys(out.Deploys))
	return ExitOK
}

// deployColumns are the columns of `tinyforge deploys`.
var deployColumns = []string{"FINISHED", "DEPLOY", "TOOK", "IMAGE", "DIGEST", "SOURCE", "OUTCOME"}

// formatDeploys is the history as `tinyforge deploys` prints it: a header,
// then per deploy a line of finish time, id, duration, image, short digest,
// source ("-" when unknown) and outcome, aligned across all deploys, then
// an indented line with each step and the time it took since the one
// before, and on a swarm one saying where the new version's tasks ran
// (no text/tabwriter: the indented lines would break its columns).
func formatDeploys(evs []deployer.Event) string {
	rows := [][]string{deployColumns}
	for _, ev := range evs {
		rows = append(rows, []string{ev.Time.Local().Format(time.DateTime), ev.Deploy, ev.Took.Round(time.Millisecond).String(),
			ev.Image, dash(overview.ShortDigest(ev.Digest)), dash(ev.Source), ev.Outcome})
	}
	width := make([]int, len(deployColumns))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for n, r := range rows {
		for i, c := range r[:len(r)-1] {
			fmt.Fprintf(&b, "%-*s  ", width[i], c)
		}
		b.WriteString(r[len(r)-1] + "\n")
		if n == 0 {
			continue
		}
		ev := evs[n-1]
		if len(ev.Steps) > 0 {
			steps := make([]string, len(ev.Steps))
			for i, st := range ev.Steps {
				steps[i] = st.Step + " " + st.Took.Round(time.Millisecond).String()
			}
			fmt.Fprintf(&b, "    steps: %s\n", strings.Join(steps, ", "))
		}
		if tasks := ev.TaskSummary(); tasks != "" {
			fmt.Fprintf(&b, "    tasks: %s\n", tasks)
		}
		if ev.Release != nil && len(ev.Steps) > 0 {
			b.WriteString(formatRelease(*ev.Release))
		}
	}
	return b.String()
}

// releaseLines is how many of the last lines of a release command's
// output `tinyforge deploys` shows; --json shows all the history keeps.
const releaseLines = 5

// formatRelease is the release command's line under a deploy's steps:
// how it ended, then the last lines of its output, indented.
func formatRelease(r deployer.ReleaseRun) string {
	var b strings.Builder
	took := r.Took.Round(time.Millisecond).String()
	if r.Exit >= 0 {
		fmt.Fprintf(&b, "    release: exit %d after %s", r.Exit, took)
	} else {
		fmt.Fprintf(&b, "    release: no exit after %s: %s", took, r.Error)
	}
	lines := strings.Split(strings.TrimRight(r.Output, "\n"), "\n")
	if r.Output == "" {
		lines = nil
	}
	if len(lines) > releaseLines {
		fmt.Fprintf(&b, " (last %d of %d output lines; --json for all)", releaseLines, len(lines))
		lines = lines[len(lines)-releaseLines:]
	}
	b.WriteString("\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "      | %s\n", l)
	}
	return b.String()
}

// RollbackMain runs `tinyforge rollback [flags] WORKLOAD [--to TAG|DIGEST]`:
// the sidecar redeploys an earlier successful image digest.
func RollbackMain(args []string, stdout, stderr io.Writer) int {
	fs, a := command("rollback", "usage: tinyforge rollback [flags] WORKLOAD [--to TAG|DIGEST]\n\n"+
		"Redeploys an earlier successful image of WORKLOAD, blue-green: the previous one, or the\n"+
		"tag or digest --to names (it must be a successful deploy in the workload's history).", stderr, os.Getenv)
	to := fs.String("to", "", "tag or digest (sha256:...) to roll back to (default: the previous good image)")
	pos, code, ok := a.start(fs, args, 1, 1)
	if !ok {
		return code
	}
	var body any
	switch {
	case strings.Contains(*to, ":"): // a tag never holds a colon
		body = map[string]string{"digest": *to}
	case *to != "":
		body = map[string]string{"tag": *to}
	}
	var out map[string]string
	path := "/v1/workloads/" + url.PathEscape(pos[0]) + "/rollback"
	if _, err := a.call(context.Background(), http.MethodPost, path, body, &out); err != nil {
		fmt.Fprintln(stderr, "tinyforge rollback:", err)
		return ExitFailed
	}
	if a.json {
		printJSON(stdout, out)
		return ExitOK
	}
	fmt.Fprintf(stdout, "rollback of %s queued: %s (%s)\n", out["workload"], out["image"], out["digest"])
	return ExitOK
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
