package client

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tinyforge/tinyforge/overview"
)

// StatusMain runs `tinyforge status [WORKLOAD]`: what serves each
// workload, its instances, routes and last outcome.
func StatusMain(args []string, stdout, stderr io.Writer) int {
	fs, a := command("status", "usage: tinyforge status [flags] [WORKLOAD]\n\n"+
		"Shows what serves each workload (or WORKLOAD in detail): tag and digest, instances, routes, last deploy.", stderr, os.Getenv)
	pos, code, ok := a.start(fs, args, 0, 1)
	if !ok {
		return code
	}
	var st overview.Status
	if _, err := a.call(context.Background(), http.MethodGet, "/v1/workloads", nil, &st); err != nil {
		fmt.Fprintln(stderr, "tinyforge status:", err)
		return ExitFailed
	}
	now := time.Now()
	if len(pos) == 0 {
		if a.json {
			printJSON(stdout, st)
		} else {
			statusTable(stdout, st, now)
		}
		return ExitOK
	}
	w := st.Workloads[pos[0]]
	if w == nil {
		if o, orphaned := st.Orphans[pos[0]]; orphaned {
			fmt.Fprintf(stderr, "tinyforge status: workload %s is orphaned (no controller declares it since %s; %d container(s))\n",
				pos[0], o.Since.Local().Format(time.DateTime), o.Containers)
		} else {
			fmt.Fprintf(stderr, "tinyforge status: workload %q is not declared by any controller\n", pos[0])
		}
		return ExitFailed
	}
	if a.json {
		printJSON(stdout, w)
	} else {
		statusDetail(stdout, pos[0], w, now)
	}
	return ExitOK
}

// statusTable is one line per workload, then problems and orphans.
func statusTable(out io.Writer, st overview.Status, now time.Time) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tSERVING\tDIGEST\tINSTANCES\tROUTES\tLAST DEPLOY")
	for _, name := range slices.Sorted(maps.Keys(st.Workloads)) {
		w := st.Workloads[name]
		tag, digest := "-", "-"
		if in, ok := w.Serving(); ok {
			tag, digest = in.Tag, overview.ShortDigest(in.Digest)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", name, tag, digest, len(w.Instances), routes(w), last(w, now))
	}
	_ = tw.Flush()
	problemsAndOrphans(out, st, now)
}

// statusDetail is one workload, in full.
func statusDetail(out io.Writer, name string, w *overview.Workload, now time.Time) {
	fmt.Fprintf(out, "workload:  %s\n", name)
	if w.Config != nil {
		fmt.Fprintf(out, "image:     %s\n", w.Config.Image)
	}
	if in, ok := w.Serving(); ok {
		fmt.Fprintf(out, "serving:   %s %s (%s)\n", in.Tag, in.Digest, in.Name)
	} else {
		fmt.Fprintln(out, "serving:   nothing")
	}
	fmt.Fprintf(out, "routes:    %s\n", routes(w))
	fmt.Fprintf(out, "last:      %s\n", last(w, now))
	if w.Busy {
		fmt.Fprintln(out, "busy:      a deploy runs or is queued")
	}
	fmt.Fprintln(out)
	serving, _ := w.Serving()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tSTATE\tTAG\tDIGEST\tAGE\t")
	for _, in := range w.Instances {
		mark := ""
		if in.ID == serving.ID {
			mark = "serving"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.State, in.Tag, overview.ShortDigest(in.Digest), overview.Age(in.Created, now), mark)
	}
	_ = tw.Flush()
}

func routes(w *overview.Workload) string {
	var urls []string
	for _, r := range w.Routes {
		urls = append(urls, overview.RouteURL(r))
	}
	if len(urls) == 0 {
		return "-"
	}
	return strings.Join(urls, " ")
}

func last(w *overview.Workload, now time.Time) string {
	ev, ok := w.Last()
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%s %s ago (%s)", ev.Outcome, overview.Age(ev.Time, now), ev.Image)
}

func problemsAndOrphans(out io.Writer, st overview.Status, now time.Time) {
	for _, ctl := range slices.Sorted(maps.Keys(st.Problems)) {
		for _, p := range st.Problems[ctl] {
			fmt.Fprintf(out, "label problem: %s: %s\n", ctl, p)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.Orphans)) {
		o := st.Orphans[name]
		fmt.Fprintf(out, "orphaned: %s for %s, %d container(s)\n", name, overview.Age(o.Since, now), o.Containers)
	}
}
