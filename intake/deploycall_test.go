package intake

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/labels"
)

// TestDeployInProcess: the status page's deploy goes through the deploy
// API's path: stored in the inbox (so the consumer deploys it), recorded
// as accepted, refused with the API's status for an unknown workload or a
// bad tag.
func TestDeployInProcess(t *testing.T) {
	f := newHookFixture(t, &labels.Workload{Name: "api", Image: "ghcr.io/acme/api", DefaultTag: "stable"})
	f.consume()
	ctx := context.Background()
	acc, dup, err := f.in.Deploy(ctx, "api", "v2")
	if err != nil || !slices.Equal(acc, []string{"api:v2"}) || len(dup) != 0 {
		t.Fatalf("Deploy: %v %v %v", acc, dup, err)
	}
	if got := f.waitDeployed(1); got[0].Workload != "api" || got[0].Tag != "v2" || got[0].Source != SourceAPI {
		t.Fatalf("deployed %+v", got)
	}
	if h := outcomesOf(f.history("api")); !slices.Equal(h, []string{OutcomeAccepted}) {
		t.Fatalf("history %v", h)
	}
	var ae *httpapi.Error
	if _, _, err := f.in.Deploy(ctx, "nope", "v1"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("unknown workload: %v, want a 404", err)
	}
	if _, _, err := f.in.Deploy(ctx, "api", "v1/../x"); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("bad tag: %v, want a 400", err)
	}
}
