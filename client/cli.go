// Package client holds the commands that talk to a running sidecar over
// HTTP: `tinyforge rollback` and `tinyforge deploys` (management API, with
// the API token) and `tinyforge health` (the image's HEALTHCHECK). They
// read the same TINYFORGE_* variables as the sidecar (internal/envdefault)
// and decode its JSON into deployer types. It must not import sidecar or
// any package that runs the daemon: a client links only what it sends and
// reads.
package client

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/envdefault"
)

// cliClient talks to a running sidecar's management API.
type cliClient struct {
	base  string
	token string
	http  *http.Client
}

// cliFlags are the flags every API subcommand takes, with env twins.
func cliFlags(fs *flag.FlagSet, getenv func(string) string) *cliClient {
	c := &cliClient{http: &http.Client{Timeout: 30 * time.Second}}
	fs.StringVar(&c.base, "url", envdefault.Lookup(getenv, "url", envdefault.APIURL), envdefault.Usage("url", "base URL of the sidecar's API"))
	fs.StringVar(&c.token, "api-token", envdefault.Lookup(getenv, "api-token", ""), envdefault.Usage("api-token", "bearer token of the management API"))
	return c
}

// call sends a request and decodes a 2xx JSON answer into out; any other
// status is an error carrying the server's message.
func (c *cliClient) call(method, path string, out any) error {
	req, err := http.NewRequest(method, strings.TrimRight(c.base, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return json.Unmarshal(body, out)
}

// RollbackMain runs `tinyforge rollback [flags] WORKLOAD`: the sidecar
// redeploys the workload's previous successful image digest.
func RollbackMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tinyforge rollback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := cliFlags(fs, os.Getenv)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tinyforge rollback [flags] WORKLOAD\n\nRedeploys the previous successful image digest of WORKLOAD, blue-green.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	var out map[string]string
	if err := c.call(http.MethodPost, "/v1/workloads/"+url.PathEscape(fs.Arg(0))+"/rollback", &out); err != nil {
		fmt.Fprintln(stderr, "tinyforge rollback:", err)
		return 1
	}
	fmt.Fprintf(stdout, "rollback of %s queued: %s (%s)\n", out["workload"], out["image"], out["digest"])
	return 0
}

// DeploysMain runs `tinyforge deploys [flags] WORKLOAD`: the workload's
// deploy history, newest first.
func DeploysMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tinyforge deploys", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := cliFlags(fs, os.Getenv)
	limit := fs.Int("limit", 20, "how many deploys to show")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tinyforge deploys [flags] WORKLOAD\n\nShows the deploy history of WORKLOAD, newest first.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	var out struct{ Deploys []deployer.Event }
	path := "/v1/workloads/" + url.PathEscape(fs.Arg(0)) + "/deploys?limit=" + strconv.Itoa(*limit)
	if err := c.call(http.MethodGet, path, &out); err != nil {
		fmt.Fprintln(stderr, "tinyforge deploys:", err)
		return 1
	}
	for _, ev := range out.Deploys {
		fmt.Fprint(stdout, formatDeploy(ev))
	}
	return 0
}

// formatDeploy is one deploy as `tinyforge deploys` prints it: a line of
// time, id, duration, image, short digest ("-" when unknown) and outcome,
// so the columns before the outcome never shift, then an indented line
// with each step and the time it took since the previous one.
func formatDeploy(ev deployer.Event) string {
	digest := cmp.Or(ev.Digest, "-")
	if len(digest) > 19 {
		digest = digest[:19]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-16s  %-8s  %-30s  %-19s  %s\n", ev.Time.Local().Format(time.DateTime), ev.Deploy,
		ev.Took.Round(time.Millisecond), ev.Image, digest, ev.Outcome)
	if len(ev.Steps) > 0 {
		steps := make([]string, len(ev.Steps))
		for i, s := range ev.Steps {
			steps[i] = s.Step + " " + s.Took.Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "    steps: %s\n", strings.Join(steps, ", "))
	}
	return b.String()
}
