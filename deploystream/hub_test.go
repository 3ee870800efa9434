package deploystream

import (
	"testing"
	"time"

	"github.com/tinyforge/tinyforge/deployer"
)

// TestHubFiltersAndNumbers: a subscriber of one workload gets only its
// events, a subscriber of all gets every one, in order, numbered.
func TestHubFiltersAndNumbers(t *testing.T) {
	h := NewHub(8)
	all, _ := h.Subscribe("")
	web, _ := h.Subscribe("web")
	h.Step(deployer.Journal{ID: "d1", Workload: "web", Step: deployer.StepLocked, Steps: []deployer.StepTime{{Step: deployer.StepLocked}}})
	h.Step(deployer.Journal{ID: "d2", Workload: "api", Step: deployer.StepLocked})
	h.Finished("web", deployer.Event{Deploy: "d1", Outcome: deployer.OutcomeDeployed, Digest: "sha256:a"})

	got := drain(all)
	if len(got) != 3 || got[0].ID != 1 || got[2].ID != 3 || got[1].Workload != "api" {
		t.Fatalf("all: %+v", got)
	}
	got = drain(web)
	if len(got) != 2 || got[0].Step != deployer.StepLocked || got[1].Type != TypeFinished || !got[1].Succeeded || got[1].Digest != "sha256:a" {
		t.Fatalf("web: %+v", got)
	}
}

// TestHubDropsSlowSubscriber: a subscriber that does not read is dropped
// once its buffer is full; Publish never blocks and the others go on.
func TestHubDropsSlowSubscriber(t *testing.T) {
	h := NewHub(2)
	slow, _ := h.Subscribe("")
	fast, _ := h.Subscribe("")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5; i++ {
			h.Publish(Event{Type: TypeStep, Workload: "web"})
			<-fast.C
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if n := len(drain(slow)); n != 2 || !h.Dropped(slow) {
		t.Fatalf("slow subscriber kept %d events, dropped=%v; want 2 and dropped", n, h.Dropped(slow))
	}
	if h.Dropped(fast) {
		t.Fatal("the reading subscriber was dropped")
	}
	h.Unsubscribe(slow) // after a drop: no double close
}

// TestHubClose ends every subscription and refuses new ones.
func TestHubClose(t *testing.T) {
	h := NewHub(0)
	s, _ := h.Subscribe("")
	h.Close()
	h.Close()
	if _, open := <-s.C; open {
		t.Fatal("subscription open after Close")
	}
	if _, ok := h.Subscribe(""); ok {
		t.Fatal("Subscribe accepted after Close")
	}
	select {
	case <-h.Done():
	default:
		t.Fatal("Done not closed")
	}
	h.Publish(Event{}) // after Close: nothing, no panic
	h.Unsubscribe(s)
}

// drain reads what s holds until it is empty or closed.
func drain(s *Sub) []Numbered {
	var out []Numbered
	for {
		select {
		case ev, ok := <-s.C:
			if !ok {
				return out
			}
			out = append(out, ev)
		default:
			return out
		}
	}
}
