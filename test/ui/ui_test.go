package ui

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tinyforge/tinyforge/internal/testsvc"
)

// TestStatusPageInBrowser logs in to the status page in Chromium, sees the
// workload, watches a pushed tag's steps appear one by one without a
// reload, presses rollback and sees the page and Caddy agree on what
// serves; it saves a screenshot of the page.
func TestStatusPageInBrowser(t *testing.T) {
	browser := chromium(t)
	s := newStack(t)
	s.push("v1")
	s.waitServed("v1", 60*time.Second)
	s.push("v2")
	s.waitServed("v2", 60*time.Second)

	alloc, stopAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1280, 1000))...)
	defer stopAlloc()
	ctx, stopBrowser := chromedp.NewContext(alloc)
	defer stopBrowser()
	// The first action starts the browser: no timeout on it (see chromedp.Run).
	if err := chromedp.Do(ctx, chromedp.Navigate(s.sidecarURL+"/ui/")); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	do := func(what string, within time.Duration, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		if err := chromedp.Do(c, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(c, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	// until polls js until it is true; a navigation in between (a form
	// post, the login redirect) only means another try.
	until := func(what, js string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			ok, err := chromedp.Run(c, chromedp.Evaluate[bool]("!!("+js+")"))
			cancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s (last error: %v)", within, what, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	section := `document.getElementById("w-` + s.workload + `")`
	live := `document.getElementById("live-` + s.workload + `")`

	// Log in: the page sends to the form; the token opens a session.
	until("sent to the login form", `location.pathname === "/ui/login"`, 10*time.Second)
	do("log in", 10*time.Second,
		chromedp.SetValue(chromedp.CSS("#token"), s.apiToken),
		chromedp.Click(chromedp.CSS("form.login button")))
	until("the workload on the page", section+` !== null`, 15*time.Second)
	if tag := eval(section + `.dataset.servingTag`); tag != "v2" {
		t.Fatalf("page says %q serves, want v2", tag)
	}
	if cookieJS := eval(`document.cookie`); strings.Contains(cookieJS, "tinyforge_session") {
		t.Error("the session cookie is readable from JavaScript (not HttpOnly)")
	}

	// Push v3: its steps appear one by one in the live view, without a
	// reload (the marker set on this page survives), then the section shows
	// v3 serving.
	until("live view connected", `document.getElementById("live-state").className.includes("on")`, 10*time.Second)
	eval(`window.__marker = "same page";
	  window.__seen = [];
	  new MutationObserver(function () {
	    var box = ` + live + `; if (!box) return;
	    var n = box.querySelectorAll("li[data-step]").length;
	    if (window.__seen[window.__seen.length - 1] !== n) window.__seen.push(n);
	  }).observe(document.querySelector("main"), {subtree: true, childList: true});
	  "ok"`)
	s.push("v3")
	// The box still shows v2's finished deploy (succeeded) until v3's first
	// step arrives: wait for v3's own outcome.
	until("v3's deploy succeeded in the live view", live+`.dataset.tag === "v3" && `+live+`.dataset.state === "succeeded"`, 90*time.Second)
	seen := eval(`JSON.stringify(window.__seen)`)
	steps := eval(`Array.from(` + live + `.querySelectorAll("li[data-step]")).map(function (li) { return li.dataset.step; }).join(",")`)
	t.Logf("live view step counts as they appeared: %s; steps: %s", seen, steps)
	if eval(`String(window.__marker)`) != "same page" {
		t.Fatal("the page reloaded during the deploy")
	}
	if n := strings.Count(seen, ","); n < 4 {
		t.Errorf("steps did not appear one by one (counts seen %s)", seen)
	}
	// The watch ends in the outcome; the drain's step (watched) follows it
	// in the background and changes nothing shown.
	for _, step := range []string{"locked", "pulled", "healthy", "switched"} {
		if !slices.Contains(strings.Split(steps, ","), step) {
			t.Errorf("live view lacks step %s: %s", step, steps)
		}
	}
	until("section refreshed to v3", section+`.dataset.servingTag === "v3"`, 15*time.Second)
	if got := s.served(); got != "v3" {
		t.Errorf("page says v3, Caddy serves %q", got)
	}

	// Roll back to v2, chosen in the list of earlier digests.
	choice := eval(`Array.from(document.querySelectorAll("#to-` + s.workload + ` option")).map(function (o) { return o.value + " " + o.textContent; }).join("\n")`)
	t.Logf("rollback choices:\n%s", choice)
	var v2 string
	for _, line := range strings.Split(choice, "\n") {
		if strings.Contains(line, " v2 ") {
			v2 = strings.Fields(line)[0]
		}
	}
	if !strings.HasPrefix(v2, "sha256:") {
		t.Fatalf("no v2 digest among the rollback choices:\n%s", choice)
	}
	do("roll back to v2", 10*time.Second,
		chromedp.SetValue(chromedp.CSS("#to-"+s.workload), v2),
		chromedp.Click(chromedp.CSS(`#w-`+s.workload+` button.rollback`)))
	until("rollback confirmed on the page", `(document.getElementById("flash") || {}).textContent.includes("rollback of `+s.workload+` to v2")`, 15*time.Second)
	until("page says v2 serves", section+`.dataset.servingTag === "v2" && `+section+`.dataset.servingDigest === "`+v2+`"`, 90*time.Second)
	s.waitServed("v2", 10*time.Second) // the page and the proxy agree
	until("rollback finished in the live view", live+`.dataset.state === "succeeded"`, 30*time.Second)
	t.Logf("after the rollback the page and Caddy both say v2 (%s)", v2)

	shot := screenshot(t, ctx)
	t.Logf("screenshot of the status page: %s", shot)

	// Shutdown ends the open stream: the sidecar stops promptly with the
	// browser still connected.
	t.Logf("sidecar stopped %s after SIGINT with the page's stream open", s.stopSidecar(30*time.Second).Round(time.Millisecond))
}

// chromium is the browser's path: Debian's chromium (scripts/install-deps.sh).
func chromium(t *testing.T) string {
	t.Helper()
	testsvc.SkipShort(t, "chromium")
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testsvc.Unavailable(t, "chromium not installed (apt-get install chromium)")
	return ""
}

// screenshot saves a full-page PNG under $TEST_OUTPUT_DIR, or test/ui/out
// (ignored by git), and returns its path.
func screenshot(t *testing.T, ctx context.Context) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		dir = "out"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path, _ := filepath.Abs(filepath.Join(dir, "status-page.png"))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
