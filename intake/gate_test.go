package intake

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/traefik/paerser/types"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/testsvc"
	"github.com/tinyforge/tinyforge/labels"
)

// TestPolicyAtIntakeAndDequeue: a push older than the serving tag under
// policy semver is ignored at intake, with the reason, when the serving
// tag is known then; one accepted while an older tag served is ignored
// when it runs if a newer one serves by then (Admit); an explicit deploy
// of the workload skips the policy.
func TestPolicyAtIntakeAndDequeue(t *testing.T) {
	w := &labels.Workload{Name: "api", Image: "reg.test/acme/api", Policy: "semver"}
	f := newHookFixture(t, w)
	serving := "v2.0.0"
	f.in.cfg.ServingTag = func(string) string { return serving }

	status, reply, raw := f.post("/v1/deploy", []byte(`{"image":"reg.test/acme/api","tag":"v1.5.0"}`), map[string]string{"Authorization": "Bearer " + testAPIToken})
	if status != 202 || len(reply.Accepted) != 0 || len(reply.Ignored) != 1 ||
		reply.Ignored[0] != "workload api: tag v1.5.0 is older than the serving v2.0.0 (policy semver deploys only newer versions)" {
		t.Fatalf("older push at intake: %d %s", status, raw)
	}
	if h := f.history("api"); len(h) != 1 || !strings.HasPrefix(h[0].Outcome, "ignored: workload api: tag v1.5.0 is older") {
		t.Fatalf("history %+v", h)
	}

	ctx := context.Background()
	log := zerolog.New(f.logs)
	req := deployer.Request{Kind: deployer.KindDeliver, Workload: "api", Tag: "v2.1.0", Source: SourceDistribution, Delivery: "d1"}
	if _, ok := f.in.Admit(ctx, log, w, req, "v2.0.0"); !ok {
		t.Fatal("v2.1.0 over v2.0.0 refused")
	}
	if _, ok := f.in.Admit(ctx, log, w, req, "v3.0.0"); ok { // v3.0.0 deployed meanwhile
		t.Fatal("v2.1.0 deployed over v3.0.0")
	}
	if h := f.history("api"); h[1].Outcome != "ignored: tag v2.1.0 is older than the serving v3.0.0 (policy semver deploys only newer versions)" || h[1].Delivery != "d1" {
		t.Fatalf("dequeue refusal recorded as %+v", h)
	}
	req.Source, req.Tag = SourceAPI, "v1.0.0"
	if got, ok := f.in.Admit(ctx, log, w, req, "v3.0.0"); !ok || got.Tag != "v1.0.0" {
		t.Fatal("an explicit deploy was refused by the policy")
	}
	rb := deployer.Request{Kind: deployer.KindRollback, Workload: "api", Tag: "v1.0.0", Digest: "sha256:1", Source: "rollback"}
	if _, ok := f.in.Admit(ctx, log, w, rb, "v3.0.0"); !ok {
		t.Fatal("a rollback was refused by the policy")
	}
}

// TestFirstDeployTakesNewestAllowedTag: under semver-minor without a
// defaultTag, a deploy that names no tag takes the newest tag of the real
// registry's list the policy allows; with nothing allowed it is ignored.
func TestFirstDeployTakesNewestAllowedTag(t *testing.T) {
	reg := testsvc.Registry(t, nil)
	for _, tag := range []string{"v1.0.0", "v1.2.0", "v1.3.0-rc.1", "latest"} {
		testsvc.UploadImage(t, reg.Host, "acme/web", tag)
	}
	w := &labels.Workload{Name: "web", Image: reg.Ref("acme/web"), Policy: "semver-minor"}
	f := newHookFixture(t, w)
	ctx := context.Background()
	log := zerolog.New(f.logs)
	req := deployer.Request{Kind: deployer.KindDeliver, Workload: "web", Source: SourceAPI}
	if got, ok := f.in.Admit(ctx, log, w, req, ""); !ok || got.Tag != "v1.2.0" {
		t.Fatalf("first deploy = %q, %v; want v1.2.0", got.Tag, ok)
	}
	if _, ok := f.in.Admit(ctx, log, w, req, "v1.2.0"); ok {
		t.Fatal("deployed although nothing is newer than v1.2.0")
	}
	if h := f.history("web"); len(h) != 1 || !strings.Contains(h[0].Outcome, "none of the registry's 4 tags is allowed") {
		t.Fatalf("history %+v", h)
	}
	// Through the deploy API: the request is stored without a tag.
	status, reply, raw := f.post("/v1/deploy", []byte(`{"workload":"web"}`), map[string]string{"Authorization": "Bearer " + testAPIToken})
	if status != 202 || len(reply.Accepted) != 1 || reply.Accepted[0] != "web:" {
		t.Fatalf("deploy without a tag: %d %s", status, raw)
	}
}

// TestApprovalHoldApproveRejectExpire: a delivery of a workload with
// approval manual is held (not deployed) with its digest; a newer one
// replaces it, recorded; approving stores it in the inbox, from where it
// is queued as a delivery of source approval with exactly that digest;
// with nothing pending approve and reject are ErrNotPending; an expired
// one is recorded as expired and cannot be approved.
func TestApprovalHoldApproveRejectExpire(t *testing.T) {
	w := &labels.Workload{Name: "web", Image: "reg.test/web", Approval: labels.ApprovalManual, ApprovalTimeout: types.Duration(time.Hour)}
	f := newHookFixture(t, w)
	f.consume()
	ctx := context.Background()
	log := zerolog.New(f.logs)
	hold := func(tag, digest, entry string) {
		t.Helper()
		req := deployer.Request{Kind: deployer.KindDeliver, Workload: "web", Tag: tag, Digest: digest, Source: SourceDistribution, Entries: []string{entry}}
		if held, err := f.in.Hold(ctx, log, w, req); !held || err != nil {
			t.Fatalf("hold %s: %v %v", tag, held, err)
		}
	}
	hold("v2", "sha256:2", "1-1")
	hold("v3", "sha256:3", "1-2")
	p, ok, err := f.store.PendingApproval(ctx, "web")
	if err != nil || !ok || p.Tag != "v3" || p.Digest != "sha256:3" || p.Expires.Sub(p.Since) != time.Hour {
		t.Fatalf("pending %+v %v %v", p, ok, err)
	}
	h := f.history("web")
	if len(h) != 3 || !strings.HasPrefix(h[2].Outcome, "replaced: by v3 (sha256:3)") || h[2].Tag != "v2" ||
		!strings.HasPrefix(h[1].Outcome, "pending: waiting for approval until ") || h[1].Tag != "v3" {
		t.Fatalf("history %+v", h)
	}
	approved := deployer.Request{Kind: deployer.KindDeliver, Workload: "web", Tag: "v3", Source: SourceApproval}
	if held, _ := f.in.Hold(ctx, log, w, approved); held {
		t.Fatal("an approved delivery was held again")
	}

	if _, err := f.in.Approve(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	got := f.waitDeployed(1)
	if got[0].Source != SourceApproval || got[0].Tag != "v3" || got[0].Digest != "sha256:3" {
		t.Fatalf("queued %+v", got[0])
	}
	if _, err := f.in.Approve(ctx, "web"); !errors.Is(err, ErrNotPending) {
		t.Fatalf("second approve: %v", err)
	}
	if _, err := f.in.Reject(ctx, "web"); !errors.Is(err, ErrNotPending) {
		t.Fatalf("reject with nothing pending: %v", err)
	}

	hold("v4", "sha256:4", "1-3")
	f.in.ExpireApprovals(ctx, time.Now().Add(30*time.Minute))
	if _, ok, _ := f.store.PendingApproval(ctx, "web"); !ok {
		t.Fatal("expired before its time")
	}
	f.in.ExpireApprovals(ctx, time.Now().Add(time.Hour+time.Second))
	if _, ok, _ := f.store.PendingApproval(ctx, "web"); ok {
		t.Fatal("not expired after approvalTimeout")
	}
	if h := f.history("web"); h[len(h)-1].Outcome != "expired: not approved within 1h0m0s" || h[len(h)-1].Tag != "v4" {
		t.Fatalf("history %+v", h[len(h)-1])
	}
	if n := len(f.deployedNow()); n != 1 {
		t.Fatalf("%d requests queued, want only the approved one", n)
	}
}
