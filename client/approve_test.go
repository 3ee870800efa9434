package client

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestApproveReject: approve and reject post to the workload's endpoint
// with the token and print the outcome (or JSON); a 409 (nothing
// pending) exits 1 with the sidecar's message; no workload is a usage
// error.
func TestApproveReject(t *testing.T) {
	pending := true
	f := newFakeSidecar(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		if !pending {
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":"workload web: no delivery is pending approval"}`))
			return
		}
		verb := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"workload":"web","image":"reg/web","tag":"v2","digest":"sha256:0123456789abcdef0123","outcome":"` + map[string]string{"approve": "approved", "reject": "rejected"}[verb] + `"}`))
	})
	t.Setenv("TINYFORGE_API_TOKEN", "tok")
	var out, errOut bytes.Buffer
	if code := ApproveMain([]string{"web"}, &out, &errOut); code != ExitOK {
		t.Fatalf("approve: exit %d %s", code, errOut.String())
	}
	if got := out.String(); got != "web reg/web:v2 (sha256:0123456789abcdef0123): approved\n" {
		t.Fatalf("approve printed %q", got)
	}
	out.Reset()
	if code := RejectMain([]string{"--json", "web"}, &out, &errOut); code != ExitOK || !strings.Contains(out.String(), `"outcome": "rejected"`) {
		t.Fatalf("reject --json: exit %d, %q", code, out.String())
	}
	pending = false
	errOut.Reset()
	if code := ApproveMain([]string{"web"}, &out, &errOut); code != ExitFailed || !strings.Contains(errOut.String(), "no delivery is pending approval") {
		t.Fatalf("approve with nothing pending: exit %d, %q", code, errOut.String())
	}
	if code := RejectMain(nil, &out, &errOut); code != ExitUsage {
		t.Fatalf("reject without a workload: exit %d", code)
	}
	want := []string{"POST /v1/workloads/web/approve Bearer tok", "POST /v1/workloads/web/reject Bearer tok", "POST /v1/workloads/web/approve Bearer tok"}
	if got := f.requests(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("requests %q, want %q", got, want)
	}
}
