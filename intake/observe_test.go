package intake

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// recorder is an Observer that counts what it is told.
type recorder struct {
	mu         sync.Mutex
	deliveries map[string]int // "source outcome"
	finished   []deployer.Event
}

func (r *recorder) WebhookDelivery(source, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deliveries == nil {
		r.deliveries = map[string]int{}
	}
	r.deliveries[source+" "+outcome]++
}

func (r *recorder) RequestFinished(workload string, ev deployer.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev.Workload = workload
	r.finished = append(r.finished, ev)
}

func (r *recorder) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.deliveries {
		out[k] = v
	}
	return out
}

// TestObserverCountsEveryOutcome sends one delivery of each kind and
// checks the observer heard each exactly once, by source and outcome, and
// that a queued request carries the time its delivery was taken in.
func TestObserverCountsEveryOutcome(t *testing.T) {
	f := newHookFixture(t, demo())
	obs := &recorder{}
	f.in.cfg.Observer = obs
	f.consume()
	before := time.Now()

	push := distPush("ev-1", "v1", time.Now())
	if code, _, raw := f.postDist(push); code != http.StatusAccepted {
		t.Fatalf("push: %d %s", code, raw)
	}
	if code, _, raw := f.postDist(push); code != http.StatusAccepted { // redelivery
		t.Fatalf("redelivery: %d %s", code, raw)
	}
	other := []byte(`{"events":[{"id":"ev-2","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` +
		"0000000000000000000000000000000000000000000000000000000000000001" + `","repository":"nobody","tag":"v1"},"request":{"host":"127.0.0.1:5000"}}]}`)
	if code, _, raw := f.postDist(other); code != http.StatusAccepted {
		t.Fatalf("push of an unused image: %d %s", code, raw)
	}
	if code, _, _ := f.postDist([]byte(`{"events":`)); code != http.StatusBadRequest {
		t.Fatalf("malformed: %d, want 400", code)
	}
	if code, _, _ := f.post("/v1/hooks/distribution", push, map[string]string{"Authorization": "Bearer wrong"}); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d, want 401", code)
	}
	if code, _, _ := f.post("/v1/deploy", []byte(`{"workload":"demo"}`), map[string]string{"Authorization": "Bearer wrong"}); code != http.StatusUnauthorized {
		t.Fatalf("deploy API with a wrong token: %d, want 401", code)
	}

	want := map[string]int{
		"distribution accepted": 1, "distribution duplicate": 1, "distribution ignored": 1,
		"distribution rejected": 1, "distribution unauthorized": 1, "api unauthorized": 1,
	}
	if got := obs.counts(); !reflect.DeepEqual(got, want) {
		t.Fatalf("observer heard %v, want %v", got, want)
	}
	reqs := f.waitDeployed(1)
	if r := reqs[0].Received; r.Before(before.Add(-time.Second)) || r.After(time.Now()) {
		t.Fatalf("queued request received at %v, want the delivery's time (after %v)", r, before)
	}

	req := deployer.Request{Workload: "demo", Tag: "v1", Source: SourceDistribution}
	f.in.RecordOutcome(context.Background(), demo(), req, "127.0.0.1:5000/demo:v1", "sha256:x", OutcomeDuplicate+": already serves")
	if len(obs.finished) != 1 || obs.finished[0].Workload != "demo" || obs.finished[0].Outcome != OutcomeDuplicate+": already serves" {
		t.Fatalf("RequestFinished heard %+v", obs.finished)
	}
}
