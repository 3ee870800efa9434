package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
)

// ApproveMain runs `tinyforge approve [flags] WORKLOAD`: the delivery
// pending approval deploys (exit 1 when none is pending).
func ApproveMain(args []string, stdout, stderr io.Writer) int {
	return settle("approve", "usage: tinyforge approve [flags] WORKLOAD\n\n"+
		"Deploys the delivery of WORKLOAD that waits for approval (approval=manual),\n"+
		"exactly the digest shown by tinyforge status WORKLOAD. Exits 1 when none is pending.", args, stdout, stderr)
}

// RejectMain runs `tinyforge reject [flags] WORKLOAD`: the delivery
// pending approval is dropped and recorded as rejected.
func RejectMain(args []string, stdout, stderr io.Writer) int {
	return settle("reject", "usage: tinyforge reject [flags] WORKLOAD\n\n"+
		"Drops the delivery of WORKLOAD that waits for approval; the history records it\n"+
		"as rejected. Exits 1 when none is pending.", args, stdout, stderr)
}

// settle posts approve or reject for the workload named in args.
func settle(verb, usage string, args []string, stdout, stderr io.Writer) int {
	fs, a := command(verb, usage, stderr, os.Getenv)
	pos, code, ok := a.start(fs, args, 1, 1)
	if !ok {
		return code
	}
	var out map[string]string
	path := "/v1/workloads/" + url.PathEscape(pos[0]) + "/" + verb
	if _, err := a.call(context.Background(), http.MethodPost, path, nil, &out); err != nil {
		fmt.Fprintf(stderr, "tinyforge %s: %v\n", verb, err)
		return ExitFailed
	}
	if a.json {
		printJSON(stdout, out)
		return ExitOK
	}
	fmt.Fprintf(stdout, "%s %s:%s (%s): %s\n", out["workload"], out["image"], out["tag"], dash(out["digest"]), out["outcome"])
	return ExitOK
}
