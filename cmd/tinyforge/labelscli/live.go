package labelscli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/envdefault"
	"github.com/tinyforge/tinyforge/labels"
)

// live is where `labels check --sidecar URL` (or --live, at TINYFORGE_URL)
// asks the running sidecar who owns each host, with the management API's
// token: --api-token-file, else TINYFORGE_API_TOKEN, else
// TINYFORGE_API_TOKEN_FILE, as the client commands read it.
type live struct {
	url       string
	tokenFile string
	getenv    func(string) string // may be nil
}

// token resolves the API token ("" when none is configured: the sidecar
// then says it is missing).
func (l *live) token() (string, error) {
	env := envdefault.EnvName("api-token")
	getenv := l.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	file := l.tokenFile
	if file == "" {
		if t := getenv(env); t != "" {
			return t, nil
		}
		file = getenv(env + "_FILE")
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read the API token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("read the API token: %s is empty", file)
	}
	return t, nil
}

// hosts fetches GET /v1/hosts.
func (l *live) hosts(ctx context.Context) (deployer.HostTable, error) {
	var table deployer.HostTable
	token, err := l.token()
	if err != nil {
		return table, err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(l.url, "/")+"/v1/hosts", nil)
	if err != nil {
		return table, fmt.Errorf("sidecar URL %q: %w", l.url, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return table, fmt.Errorf("ask the sidecar at %s who owns each host: %w", l.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return table, fmt.Errorf("read the sidecar's host table: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return table, fmt.Errorf("ask the sidecar at %s who owns each host: %s %s", l.url, resp.Status, e.Error)
	}
	if err := json.Unmarshal(body, &table); err != nil {
		return table, fmt.Errorf("decode the sidecar's host table: %w", err)
	}
	if table.Owners == nil && table.Reserved == nil {
		return table, errors.New("the sidecar's answer holds no host table (is it a tinyforge sidecar of this version?)")
	}
	return table, nil
}

// hostProblems adds to r an error for each face whose host the live
// sidecar would refuse: owned by another workload (naming both) or
// reserved. ctrls are the controllers r was checked from, in order.
func hostProblems(r *Report, ctrls []Controller, table deployer.HostTable, url string) {
	for i := range r.Controllers {
		cr := &r.Controllers[i]
		for _, w := range cr.Workloads {
			for _, f := range w.Faces {
				if !f.Enabled {
					continue
				}
				host := strings.ToLower(strings.TrimSuffix(f.Host, "."))
				key := labels.Root + ".workloads." + w.Name + ".faces." + f.Name
				var msg string
				if why, ok := table.Reserved[host]; ok {
					msg = fmt.Sprintf("%s: host %s is reserved by the sidecar at %s (%s): this face would be refused", key, host, url, why)
				} else if owner := table.Owners[host]; owner != "" && owner != w.Name {
					msg = fmt.Sprintf("%s: host %s belongs to workload %s on the sidecar at %s: this face of workload %s would be refused",
						key, host, owner, url, w.Name)
				}
				if msg == "" {
					continue
				}
				p := Problem{Source: cr.Source, Key: key, Workload: w.Name, Message: msg}
				if i < len(ctrls) {
					c := ctrls[i]
					p.File, p.Line = c.File, c.Line
					if line := nearestLine(c.Lines, key); line > 0 {
						p.Line = line
					}
				}
				cr.Errors = append(cr.Errors, p)
			}
		}
		slices.SortStableFunc(cr.Errors, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	}
}
