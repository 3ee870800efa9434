package deployer

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOnFinishedSeesWhatHistoryRecords: every recorded outcome is handed
// to OnFinished exactly as written, with the request's Received time; a
// no-op records nothing and tells nothing.
func TestOnFinishedSeesWhatHistoryRecords(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var got []Event
	f.engine.OnFinished = func(workload string, ev Event) {
		mu.Lock()
		defer mu.Unlock()
		if workload != "web" {
			t.Errorf("OnFinished for workload %q, want web", workload)
		}
		got = append(got, ev)
	}
	received := time.Unix(1700000000, 0).UTC()
	deploy := func(tag string) {
		_, _ = f.engine.Deploy(context.Background(), f.w, Request{Workload: "web", Tag: tag, Source: "test", Received: received})
	}
	f.docker.digests["reg.local/web:v1"] = "sha256:aaa"
	deploy("v1")
	deploy("v1") // no-op
	f.health = func(context.Context, string) error { return ErrUnhealthy }
	deploy("v2")

	if !reflect.DeepEqual(got, f.store.events["web"]) {
		t.Fatalf("OnFinished saw %+v\nhistory holds %+v", got, f.store.events["web"])
	}
	if len(got) != 2 || got[0].Outcome != OutcomeDeployed || !strings.HasPrefix(got[1].Outcome, OutcomeFailed) {
		t.Fatalf("outcomes %+v, want deployed then failed", got)
	}
	if !got[0].Received.Equal(received) || len(got[0].Steps) == 0 {
		t.Fatalf("deployed event: received %v, steps %v; want %v and the journal's steps", got[0].Received, got[0].Steps, received)
	}
}
