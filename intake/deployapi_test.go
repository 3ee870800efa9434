package intake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge/labels"
)

func TestDeployAPI(t *testing.T) {
	f := newHookFixture(t,
		&labels.Workload{Name: "web", Image: "docker.io/library/nginx", DefaultTag: "stable"},
		&labels.Workload{Name: "web2", Image: "nginx"},
		&labels.Workload{Name: "api", Image: "ghcr.io/acme/api"},
	)
	auth := map[string]string{"Authorization": "Bearer " + testAPIToken, "Content-Type": "application/json"}
	cases := []struct {
		name, body string
		headers    map[string]string
		status     int
		accepted   string
		errText    string
	}{
		{"workload and tag", `{"workload":"api","tag":"v2"}`, auth, 202, "api:v2", ""},
		{"workload, default tag", `{"workload":"web"}`, auth, 202, "web:stable", ""},
		{"image fans out, normalised", `{"image":"index.docker.io/library/nginx","tag":"1.27"}`, auth, 202, "web:1.27,web2:1.27", ""},
		{"image in another case", `{"image":"GHCR.io/Acme/API","tag":"v3"}`, auth, 202, "api:v3", ""},
		{"both", `{"workload":"api","image":"ghcr.io/acme/api","tag":"v1"}`, auth, 400, "", `either "workload" or "image"`},
		{"neither", `{"tag":"v1"}`, auth, 400, "", `either "workload" or "image"`},
		{"image without tag", `{"image":"nginx"}`, auth, 400, "", `"tag" is required`},
		{"bad tag", `{"workload":"api","tag":"v1/../x"}`, auth, 400, "", "not a valid Docker tag"},
		{"unknown field", `{"workload":"api","tag":"v1","force":true}`, auth, 400, "", "unknown field"},
		{"two objects", `{"workload":"api"}{"workload":"web"}`, auth, 400, "", "data after"},
		{"unknown workload", `{"workload":"nope","tag":"v1"}`, auth, 404, "", `workload "nope" is not declared`},
		{"unused image", `{"image":"quay.io/x/y","tag":"v1"}`, auth, 404, "", "no workload uses image quay.io/x/y"},
		{"bad image", `{"image":"a b","tag":"v1"}`, auth, 400, "", "invalid reference format"},
		{"no token", `{"workload":"api","tag":"v1"}`, nil, 401, "", "bearer token"},
		{"webhook token is not the API token", `{"workload":"api","tag":"v1"}`, map[string]string{"Authorization": "Bearer " + testSecret}, 401, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, reply, raw := f.post("/v1/deploy", []byte(tc.body), tc.headers)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, raw)
			}
			if tc.accepted != "" && strings.Join(reply.Accepted, ",") != tc.accepted {
				t.Errorf("accepted %v, want %s", reply.Accepted, tc.accepted)
			}
			if !strings.Contains(strings.ReplaceAll(raw, `\"`, `"`), tc.errText) {
				t.Errorf("reply %s lacks %q", raw, tc.errText)
			}
		})
	}

	// An Idempotency-Key makes a retried request count once.
	keyed := map[string]string{"Authorization": "Bearer " + testAPIToken, "Idempotency-Key": "ci-run-42"}
	for i, want := range []string{"accepted", "duplicate"} {
		_, reply, raw := f.post("/v1/deploy", []byte(`{"workload":"api","tag":"v7"}`), keyed)
		if (want == "accepted") != (len(reply.Accepted) == 1) || (want == "duplicate") != (len(reply.Duplicate) == 1) {
			t.Errorf("attempt %d: %s, want %s", i+1, raw, want)
		}
	}

	// Without an API token the endpoint is off.
	f.in.cfg.APIToken = ""
	f.srv.Config.Handler = f.routes()
	if status, _, _ := f.post("/v1/deploy", []byte(`{"workload":"api","tag":"v1"}`), auth); status != http.StatusForbidden {
		t.Errorf("deploy API without --api-token: %d, want 403", status)
	}
}
