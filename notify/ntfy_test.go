package notify

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ntfyAnswer is what an ntfy server answers a publish with.
const ntfyAnswer = `{"id":"hvT3ckVI9f1Y","time":1700000000,"expires":1700043200,"event":"message","topic":"deploys","message":"ok"}`

// TestNtfyFormat sends through shoutrrr's ntfy service to a server speaking
// ntfy's publish API (POST /<topic>, the message as the body, the title
// and priority as headers, basic auth from the URL's user).
func TestNtfyFormat(t *testing.T) {
	r := newReceiver(t, nil)
	r.answer = ntfyAnswer
	var rep reports
	url := "ntfy://tf:pw123@" + r.addr() + "/deploys?scheme=http&priority=high&tags=rocket"
	n := start(t, Config{Targets: []string{"phone=" + url}, Window: time.Millisecond}, Options{Report: rep.report})
	n.Notify(Event{Kind: Failed, Workload: "shop", Tag: "v2", Step: "pull", Reason: "manifest unknown"})
	got := r.waitFor(t, 1)
	rep.waitFor(t, "phone sent", 1)
	req := got[0]
	if req.Path != "/deploys" {
		t.Errorf("published to %s, want /deploys", req.Path)
	}
	if req.Header.Get("Title") != "tinyforge: shop: deploy of v2 failed" {
		t.Errorf("Title header %q", req.Header.Get("Title"))
	}
	if req.Body != "shop: deploy of v2 failed at step pull: manifest unknown" {
		t.Errorf("body %q", req.Body)
	}
	if !strings.EqualFold(req.Header.Get("Priority"), "high") { // ntfy takes names in any case
		t.Errorf("Priority header %q", req.Header.Get("Priority"))
	}
	if req.Header.Get("Tags") != "rocket" {
		t.Errorf("Tags header %q", req.Header.Get("Tags"))
	}
	if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("tf:pw123")); req.Header.Get("Authorization") != want {
		t.Errorf("Authorization %q, want %q", req.Header.Get("Authorization"), want)
	}
	if !strings.HasPrefix(req.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type %q", req.Header.Get("Content-Type"))
	}
}

// TestNtfyErrorAnswerIsRetried: ntfy's JSON error answer is a failure.
func TestNtfyErrorAnswerIsRetried(t *testing.T) {
	r := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusTooManyRequests
		}
		return 0
	})
	r.answer = ntfyAnswer
	var rep reports
	n := start(t, Config{Targets: []string{"phone=ntfy://" + r.addr() + "/deploys?scheme=http"}, Window: time.Millisecond},
		Options{Backoff: 10 * time.Millisecond, Report: rep.report})
	n.Notify(Event{Kind: Succeeded, Workload: "shop", Tag: "v3"})
	rep.waitFor(t, "phone sent", 1)
	if got := len(r.requests()); got != 2 {
		t.Errorf("ntfy server got %d publishes, want 2 (429, then ok)", got)
	}
}
