package controllers

import (
	"slices"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

func TestOrphansAreReportedAndExpireAfterGrace(t *testing.T) {
	var o Orphans
	managed := func(workload string) deployer.Container {
		return deployer.Container{Labels: map[string]string{"tinyforge.managed": "true", "tinyforge.workload": workload}}
	}
	snapshot := []deployer.Container{managed("web"), managed("old"), managed("old")}
	declaredSet := map[string]*labels.Workload{"web": {Name: "web"}}
	declared := func(name string) bool { return declaredSet[name] != nil }
	t0 := time.Unix(1000, 0)

	status, expired := o.Update(snapshot, declared, t0, time.Minute)
	if len(status) != 1 || status["old"].Containers != 2 || !status["old"].Since.Equal(t0) || len(expired) != 0 {
		t.Fatalf("first pass: status %v, expired %v", status, expired)
	}
	if _, expired = o.Update(snapshot, declared, t0.Add(59*time.Second), time.Minute); len(expired) != 0 {
		t.Fatalf("expired before the grace: %v", expired)
	}
	if _, expired = o.Update(snapshot, declared, t0.Add(time.Minute), time.Minute); !slices.Equal(expired, []string{"old"}) {
		t.Fatalf("expired = %v, want [old]", expired)
	}
	// Declared again (a compose recreate): no longer an orphan, clock reset.
	declaredSet["old"] = &labels.Workload{Name: "old"}
	if status, _ = o.Update(snapshot, declared, t0.Add(2*time.Minute), time.Minute); len(status) != 0 {
		t.Fatalf("redeclared workload still orphaned: %v", status)
	}
	delete(declaredSet, "old")
	if status, expired = o.Update(snapshot, declared, t0.Add(3*time.Minute), time.Minute); len(expired) != 0 || !status["old"].Since.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("orphan clock not reset: %v %v", status, expired)
	}
}
