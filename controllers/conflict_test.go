package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/labelsig"
)

func newTestControllers(running ...deployer.Container) (*Watcher, *fakeContainers) {
	docker := &fakeContainers{subbed: make(chan fakeStream, 4), running: running}
	return NewWatcher(docker, "", zerolog.Nop()), docker
}

// TestConflictKeepsTheLastAgreedDeclaration: a second controller declaring
// web differently neither drops web from the declared set nor makes it an
// orphan; web keeps the declaration both agreed on, and the conflict is
// reported against both controllers.
func TestConflictKeepsTheLastAgreedDeclaration(t *testing.T) {
	web := map[string]string{"tinyforge.workloads.web.image": "reg/web", "tinyforge.workloads.web.port": "80"}
	c, docker := newTestControllers(controller("first", 1, web))
	ctx := context.Background()
	if err := c.Refresh(ctx); err != nil || c.Workload("web") == nil {
		t.Fatalf("web not declared: %v", err)
	}
	docker.set(false, controller("first", 1, web), controller("rogue", 2, map[string]string{
		"tinyforge.workloads.web.image": "evil/web", "tinyforge.workloads.web.port": "80",
	}))
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if w := c.Workload("web"); w == nil || w.Image != "reg/web" {
		t.Fatalf("web during the conflict = %+v, want the agreed reg/web", w)
	}
	for _, ctl := range []string{"first", "rogue"} {
		p := strings.Join(c.Problems()[ctl], "\n")
		if !strings.Contains(p, "declared differently by controllers first, rogue") || !strings.Contains(p, "keeps its last agreed declaration") {
			t.Fatalf("problems of %s = %q", ctl, p)
		}
	}
	var o Orphans
	snapshot := []deployer.Container{{Labels: map[string]string{labels.Managed: "true", labels.ManagedWorkload: "web"}}}
	if status, expired := o.Update(snapshot, c.Declares, time.Now(), 0); len(status)+len(expired) != 0 {
		t.Fatalf("web in conflict is an orphan: %v %v", status, expired)
	}

	// A sidecar started during the conflict knows no agreed declaration:
	// web is declared by nobody, and still no orphan.
	fresh, freshDocker := newTestControllers(docker.running...)
	if err := fresh.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if fresh.Workload("web") != nil || !fresh.Declares("web") {
		t.Fatalf("fresh sidecar: web = %v, declares %v; want no declaration but Declares", fresh.Workload("web"), fresh.Declares("web"))
	}
	if status, expired := o.Update(snapshot, fresh.Declares, time.Now(), 0); len(status)+len(expired) != 0 {
		t.Fatalf("web in conflict is an orphan for a fresh sidecar: %v %v", status, expired)
	}
	if p := strings.Join(fresh.Problems()["rogue"], "\n"); !strings.Contains(p, "deliveries are refused until they agree") {
		t.Fatalf("fresh problems = %q", p)
	}
	if reasons, _ := c.Refused(); len(reasons) != 0 {
		t.Fatalf("refused with an agreed declaration: %v", reasons)
	}
	// The fresh sidecar refuses web's deliveries, saying why, for the
	// images of both declarations.
	reasons, decls := fresh.Refused()
	if want := "workload web is declared differently by controllers first, rogue: deliveries refused until they agree"; reasons["web"] != want {
		t.Fatalf("refused = %q, want %q", reasons["web"], want)
	}
	if len(decls["web"]) != 2 || decls["web"][0].Image != "reg/web" || decls["web"][1].Image != "evil/web" {
		t.Fatalf("declarations of web = %v, want reg/web and evil/web", decls["web"])
	}
	// Once they agree, nothing is refused.
	freshDocker.set(false, controller("first", 1, web))
	if err := fresh.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if reasons, _ := fresh.Refused(); len(reasons) != 0 || fresh.Workload("web") == nil {
		t.Fatalf("after agreement: refused %v, web %v", reasons, fresh.Workload("web"))
	}
}

// TestUnsignedControllerIsNotObeyed: with controller keys, a controller
// without a valid signature declares nothing; a signed one declares its
// workloads under its key's scope.
func TestUnsignedControllerIsNotObeyed(t *testing.T) {
	key, _ := labelsig.ParseControllerKey("team-a:" + strings.Repeat("ab", 32))
	keys := labelsig.NewControllerKeys(key)
	signed := map[string]string{labels.Enable: "true", "tinyforge.workloads.web.image": "reg/web", "tinyforge.workloads.web.port": "80"}
	signed[labels.Signature] = labelsig.SignController(key.Secret, signed)
	unsigned := map[string]string{labels.Enable: "true", "tinyforge.workloads.evil.image": "reg/evil", "tinyforge.workloads.evil.port": "80"}
	c, _ := newTestControllers(controller("good", 1, signed), controller("bad", 2, unsigned))
	c.Verify = keys.Verify
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := c.Workload("web"); w == nil || w.KeyScope != "team-a" {
		t.Fatalf("signed web = %+v, want declared under team-a", w)
	}
	if c.Workload("evil") != nil {
		t.Fatal("an unsigned controller was obeyed")
	}
	if p := strings.Join(c.Problems()["bad"], "\n"); !strings.Contains(p, "controller not obeyed") || !strings.Contains(p, "not signed") {
		t.Fatalf("problems of bad = %q", p)
	}
}
