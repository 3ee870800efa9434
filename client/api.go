package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/internal/envdefault"
)

// api talks to a running sidecar's management API.
type api struct {
	base      string
	token     string
	tokenFile string
	json      bool
	getenv    func(string) string
	http      *http.Client // requests with an answer
	stream    *http.Client // streams: no overall timeout
}

// command is the flag set of one API command with the flags they all
// take: --url, --api-token, --api-token-file, --json.
func command(name, usage string, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, *api) {
	fs := flag.NewFlagSet("tinyforge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := &api{getenv: getenv, http: &http.Client{Timeout: 30 * time.Second}, stream: &http.Client{}}
	fs.StringVar(&a.base, "url", envdefault.Lookup(getenv, "url", envdefault.APIURL), envdefault.Usage("url", "base URL of the sidecar's API"))
	// The token's default is never the environment's value: usage would
	// print it. It is read from the environment after parsing.
	fs.StringVar(&a.token, "api-token", "", "bearer token of the management API (default: env "+envdefault.EnvName("api-token")+")")
	fs.StringVar(&a.tokenFile, "api-token-file", "", "file holding the API token (default: env "+envdefault.EnvName("api-token")+"_FILE)")
	fs.BoolVar(&a.json, "json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	return fs, a
}

// parse reads flags anywhere among the arguments (`deploy web v2 --wait`
// as well as `deploy --wait web v2`) and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// resolveToken picks the token: --api-token, --api-token-file,
// TINYFORGE_API_TOKEN, TINYFORGE_API_TOKEN_FILE, in that order.
func (a *api) resolveToken() error {
	env := envdefault.EnvName("api-token")
	switch {
	case a.token != "":
		return nil
	case a.tokenFile != "":
	case a.getenv(env) != "":
		a.token = a.getenv(env)
		return nil
	case a.getenv(env+"_FILE") != "":
		a.tokenFile = a.getenv(env + "_FILE")
	default:
		return nil // the sidecar will say the token is missing
	}
	b, err := os.ReadFile(a.tokenFile)
	if err != nil {
		return fmt.Errorf("read the API token: %w", err)
	}
	a.token = strings.TrimSpace(string(b))
	if a.token == "" {
		return fmt.Errorf("read the API token: %s is empty", a.tokenFile)
	}
	return nil
}

// start parses the command line and resolves the token; it prints what
// went wrong and returns the exit code when the command cannot run.
func (a *api) start(fs *flag.FlagSet, args []string, min, max int) ([]string, int, bool) {
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, ExitOK, false
	}
	if err != nil {
		return nil, ExitUsage, false
	}
	if len(pos) < min || len(pos) > max {
		fs.Usage()
		return nil, ExitUsage, false
	}
	if err := a.resolveToken(); err != nil {
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
		return nil, ExitUsage, false
	}
	return pos, ExitOK, true
}

// request builds a request to path with the token, and body as JSON
// when not nil.
func (a *api) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.base, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	return req, nil
}

// call sends a request and decodes a 2xx JSON answer into out (raw
// keeps the body too); any other status is an error with the server's
// message.
func (a *api) call(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	req, err := a.request(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if err := statusError(method, path, resp, raw); err != nil {
		return nil, err
	}
	return raw, json.Unmarshal(raw, out)
}

// open starts a streamed GET of path (SSE or NDJSON); the caller closes
// the body.
func (a *api) open(ctx context.Context, path string) (io.ReadCloser, error) {
	req, err := a.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.stream.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, statusError(http.MethodGet, path, resp, raw)
	}
	return resp.Body, nil
}

// statusError is nil for a 2xx answer, else the status with the message
// of the sidecar's {"error": ...} body.
func statusError(method, path string, resp *http.Response, raw []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	var e struct{ Error string }
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	return fmt.Errorf("%s %s: %s", method, path, resp.Status)
}

// printJSON writes v indented, for --json.
func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
