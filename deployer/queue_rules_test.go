package deployer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// op is a request of kind k for tag, standing for one inbox entry id.
func op(k Kind, tag, id string) Request {
	return Request{Kind: k, Workload: "web", Tag: tag, Entries: []string{id}}
}

// show renders pending operations as "kind:tag[ids]" with what each
// supersedes in braces, so the table reads like the rules.
func show(rs []Request) string {
	var parts []string
	for _, r := range rs {
		s := fmt.Sprintf("%s:%s[%s]", r.kind(), r.Tag, strings.Join(r.Entries, ","))
		if len(r.Superseded) > 0 {
			s += "{" + show(r.Superseded) + "}"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// TestEnqueueRules: the queue's pure rules, one arrival sequence per case
// (behind an operation that is running), and the pending list it leaves.
func TestEnqueueRules(t *testing.T) {
	var (
		d = KindDeliver
		c = KindConverge
		r = KindRollback
		x = KindTeardown
	)
	cases := []struct {
		name string
		in   []Request
		want string
	}{
		{"deliveries coalesce to the newest, keeping every entry",
			[]Request{op(d, "v2", "1"), op(d, "v3", "2"), op(d, "v4", "3")},
			"deliver:v4[1,2,3]"},
		{"a zero kind is a delivery",
			[]Request{{Workload: "web", Tag: "v2", Entries: []string{"1"}}, op(d, "v3", "2")},
			"deliver:v3[1,2]"},
		{"a converge joins a pending delivery and never replaces it",
			[]Request{op(d, "v2", "1"), op(c, "", "2")},
			"deliver:v2[1,2]"},
		{"a delivery replaces a pending converge",
			[]Request{op(c, "", "1"), op(d, "v2", "2")},
			"deliver:v2[1,2]"},
		{"converges coalesce",
			[]Request{op(c, "", "1"), op(c, "", "2")},
			"converge:[1,2]"},
		{"a rollback supersedes the delivery pending before it",
			[]Request{op(d, "v4", "1"), op(r, "v1", "2")},
			"rollback:v1[2]{deliver:v4[1]}"},
		{"a delivery after a rollback queues behind it and never replaces it",
			[]Request{op(r, "v1", "1"), op(d, "v5", "2"), op(d, "v6", "3")},
			"rollback:v1[1] deliver:v6[2,3]"},
		{"a converge after a rollback queues behind it",
			[]Request{op(r, "v1", "1"), op(c, "", "2")},
			"rollback:v1[1] converge:[2]"},
		{"two rollbacks both run, in order",
			[]Request{op(r, "v1", "1"), op(r, "v2", "2")},
			"rollback:v1[1] rollback:v2[2]"},
		{"a second rollback supersedes only what queued after the first",
			[]Request{op(d, "v3", "1"), op(r, "v1", "2"), op(d, "v4", "3"), op(c, "", "4"), op(r, "v2", "5")},
			"rollback:v1[2]{deliver:v3[1]} rollback:v2[5]{deliver:v4[3,4]}"},
		{"a teardown supersedes pending deliveries and converges",
			[]Request{op(d, "v2", "1"), op(c, "", "2"), op(x, "", "3")},
			"teardown:[3]{deliver:v2[1,2]}"},
		{"a teardown after a teardown joins it",
			[]Request{op(x, "", "1"), op(x, "", "2")},
			"teardown:[1,2]"},
		{"a teardown after a rollback queues behind it",
			[]Request{op(r, "v1", "1"), op(x, "", "2")},
			"rollback:v1[1] teardown:[2]"},
		{"a rollback after a teardown queues behind it",
			[]Request{op(x, "", "1"), op(d, "v2", "2"), op(r, "v1", "3")},
			"teardown:[1] rollback:v1[3]{deliver:v2[2]}"},
		{"a teardown joining a teardown keeps what it superseded",
			[]Request{op(x, "", "1"), op(d, "v2", "2"), op(x, "", "3")},
			"teardown:[1,3]{deliver:v2[2]}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pending []Request
			for _, r := range tc.in {
				before := show(pending)
				next := enqueue(pending, r)
				if show(pending) != before {
					t.Fatalf("enqueue changed its input: %s -> %s", before, show(pending))
				}
				pending = next
			}
			if got := show(pending); got != tc.want {
				t.Errorf("pending = %s\nwant      %s", got, tc.want)
			}
			// Every entry is settled by exactly one request that runs.
			var covered []string
			for _, p := range pending {
				covered = append(covered, p.Covers()...)
			}
			slices.Sort(covered)
			var want []string
			for _, r := range tc.in {
				want = append(want, r.Entries...)
			}
			slices.Sort(want)
			if !slices.Equal(covered, want) {
				t.Errorf("entries covered %v, want each of %v exactly once", covered, want)
			}
		})
	}
}

// TestQueueRunsABarrierAfterTheRunningDeploy: a rollback requested while a
// deploy runs and another delivery waits runs next, settling the waiting
// delivery's entry; what arrives after it runs after it.
func TestQueueRunsABarrierAfterTheRunningDeploy(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	ran := make(chan Request, 10)
	q := NewQueue(func(_ context.Context, r Request) {
		if r.Tag == "v3" {
			close(started)
			<-release
		}
		ran <- r
	})
	defer q.Close(time.Second)
	for _, r := range []Request{op(KindDeliver, "v3", "1"), op(KindDeliver, "v4", "2"), op(KindRollback, "v1", "3"), op(KindDeliver, "v5", "4")} {
		if err := q.Submit(r); err != nil {
			t.Fatal(err)
		}
		if r.Tag == "v3" {
			<-started
		}
	}
	close(release)
	var got []string
	for range 3 {
		select {
		case r := <-ran:
			got = append(got, show([]Request{r}))
		case <-time.After(5 * time.Second):
			t.Fatalf("ran %v, then nothing", got)
		}
	}
	want := []string{"deliver:v3[1]", "rollback:v1[3]{deliver:v4[2]}", "deliver:v5[4]"}
	if !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
}

// TestQueueDecidesOverAWholeBatch: after a restart the inbox submits what
// was pending as one batch (a delivery, then the rollback requested
// behind it) to an idle workload. The delivery must not start before the
// rollback is in the list: the rollback supersedes it, as it did before
// the restart, and only the rollback runs.
func TestQueueDecidesOverAWholeBatch(t *testing.T) {
	ran := make(chan Request, 10)
	q := NewQueue(func(_ context.Context, r Request) { ran <- r })
	defer q.Close(time.Second)
	if err := q.Submit(op(KindDeliver, "v4", "1"), op(KindRollback, "v1", "2")); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ran:
		if got, want := show([]Request{r}), "rollback:v1[2]{deliver:v4[1]}"; got != want {
			t.Fatalf("ran %s first, want %s", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing ran")
	}
	select {
	case r := <-ran:
		t.Fatalf("ran %s after the rollback, want nothing", show([]Request{r}))
	case <-time.After(100 * time.Millisecond):
	}
}
