package labelscli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/deployer"
)

// TestCheckLiveReportsRefusedFaces runs the check against a stand-in for
// GET /v1/hosts (the real sidecar is TestHostBelongsToItsFirstWorkload's,
// in test/e2e): a face whose host another workload owns and one asking for
// the reserved hooks host are errors placed on their label's line; the
// owner's own host is not; the sidecar's domain applies when --domain is
// not given; a refused token makes the check incomplete.
func TestCheckLiveReportsRefusedFaces(t *testing.T) {
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		if r.URL.Path != "/v1/hosts" || gotAuth != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"bearer token required"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(deployer.HostTable{
			Owners:   map[string]string{"www.live.test": "owner", "mine.live.test": "newcomer"},
			Reserved: map[string]string{"hooks.live.test": "reserved: the sidecar's --hooks-host"},
			Domain:   "live.test",
		})
	}))
	defer srv.Close()
	compose := `services:
  ctl:
    image: x
    labels:
      tinyforge.enable: "true"
      tinyforge.workloads.newcomer.image: reg.test/newcomer
      tinyforge.workloads.newcomer.port: "8080"
      tinyforge.workloads.newcomer.faces.steal.subdomain: WWW
      tinyforge.workloads.newcomer.faces.edge.subdomain: hooks
      tinyforge.workloads.newcomer.faces.mine.subdomain: mine
`
	var out, errOut strings.Builder
	c := &Command{Stdin: strings.NewReader(compose), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return map[string]string{"TINYFORGE_API_TOKEN": "tok"}[k] }}
	code := c.Run(t.Context(), []string{"check", "--sidecar", srv.URL, "-"})
	t.Logf("exit %d\n%s%s", code, out.String(), errOut.String())
	for _, want := range []string{
		"stdin:8: tinyforge.workloads.newcomer.faces.steal: host www.live.test belongs to workload owner on the sidecar at " + srv.URL +
			": this face of workload newcomer would be refused",
		"stdin:9: tinyforge.workloads.newcomer.faces.edge: host hooks.live.test is reserved by the sidecar at " + srv.URL +
			" (reserved: the sidecar's --hooks-host): this face would be refused",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if code != ExitInvalid || strings.Contains(out.String(), "faces.mine:") {
		t.Errorf("exit %d, want %d with the newcomer's own host not reported", code, ExitInvalid)
	}

	errOut.Reset()
	c = &Command{Stdin: strings.NewReader(compose), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	if code := c.Run(t.Context(), []string{"check", "--sidecar", srv.URL, "-"}); code != ExitError ||
		!strings.Contains(errOut.String(), "401 Unauthorized bearer token required") {
		t.Errorf("without a token: exit %d %q, want %d naming the refusal", code, errOut.String(), ExitError)
	}
}
