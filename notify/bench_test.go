package notify

import (
	"testing"
	"time"
)

// BenchmarkNotify is the cost a deploy pays to report its outcome: the
// event is put on the target's queue (drained here by a goroutine standing
// in for the sender), never sent on the caller's goroutine.
func BenchmarkNotify(b *testing.B) {
	n, err := New(Config{Targets: []string{"ops=ntfy://h/ops"}, Window: time.Second}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	q := n.targets["ops"].queue
	stop := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-q:
			case <-stop:
				return
			}
		}
	}()
	ev := Event{Kind: Succeeded, Workload: "shop", Tag: "v1", Digest: "sha256:abc", At: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		n.Notify(ev)
	}
	b.StopTimer()
	close(stop)
	<-drained
}
