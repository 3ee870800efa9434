// Command testapp is the workload tinyforge's tests and demo deploy: a
// static HTTP server with no dependencies beyond the standard library, so
// it runs in an image built FROM scratch.
//
//	GET  /            the version ($APP_VERSION, no trailing newline), 200
//	GET  /health      200, or 500 once failing ($HEALTH=fail or POST /health/fail)
//	GET  /slow?ms=N   the version after N ms, to hold a request in flight
//	POST /health/fail switches /health to 500
//
// It listens on $PORT (default 8080) and on SIGTERM or SIGINT stops
// accepting connections and finishes in-flight requests (up to 10 s).
//
// With -probe URL it instead GETs URL and exits 0 on 2xx, 1 otherwise, so an
// image without a shell can declare a HEALTHCHECK. A URL starting with "/"
// is taken relative to http://127.0.0.1:$PORT.
//
// With -release [-print KEY,...] it is a deploy's release command: it
// prints its version and the named variables, sleeps $RELEASE_SLEEP and
// exits $RELEASE_EXIT (see runRelease).
//
// $BOOT_DELAY (a duration) makes the server wait that long before it
// listens: an app that boots slowly.
//
// With -reach HOST:PORT it reports whether it can resolve HOST and connect
// to PORT; with -get URL [-via HOST:PORT] it prints the status of GET URL
// (sent to HOST:PORT when given). Tests run these inside a deployed
// container to check what a workload can reach.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// shutdownGrace bounds how long in-flight requests may run after SIGTERM.
const shutdownGrace = 10 * time.Second

func main() {
	probe := flag.String("probe", "", "GET this URL and exit 0 on 2xx (for HEALTHCHECK)")
	reach := flag.String("reach", "", "report whether HOST:PORT resolves and accepts a TCP connection")
	get := flag.String("get", "", "GET this URL and print the status")
	via := flag.String("via", "", "with -get: connect to HOST:PORT instead of the URL's host")
	release := flag.Bool("release", false, "run as a release command: print, sleep $RELEASE_SLEEP, exit $RELEASE_EXIT")
	printVars := flag.String("print", "", "with -release: comma-separated variables to print as KEY=value")
	flag.Parse()
	switch {
	case *release:
		os.Exit(runRelease(os.Stdout, os.Stderr, os.Getenv, *printVars))
	case *reach != "":
		os.Exit(runReach(os.Stdout, *reach))
	case *get != "":
		os.Exit(runGet(os.Stdout, *get, *via))
	}

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if *probe != "" {
		os.Exit(runProbe(*probe, port))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := bootDelay(os.Getenv); err != nil {
		log.Fatalf("testapp: %v", err)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("", port))
	if err != nil {
		log.Fatalf("testapp: %v", err)
	}
	app := newApp(os.Getenv("APP_VERSION"), os.Getenv("HEALTH") != "fail")
	if err := serve(ctx, ln, app); err != nil {
		log.Fatalf("testapp: %v", err)
	}
}

// serve runs the server on ln until ctx ends, then shuts it down
// gracefully: no new connections, in-flight requests finish.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("testapp: listening on %s", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Printf("testapp: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Printf("testapp: stopped")
	return nil
}

// app is the HTTP behaviour, kept apart from main so tests can drive it.
type app struct {
	version string
	failing atomic.Bool
	mux     *http.ServeMux
}

func newApp(version string, healthy bool) *app {
	a := &app{version: version, mux: http.NewServeMux()}
	a.failing.Store(!healthy)
	a.mux.HandleFunc("GET /{$}", a.root)
	a.mux.HandleFunc("GET /health", a.health)
	a.mux.HandleFunc("POST /health/fail", a.fail)
	a.mux.HandleFunc("GET /slow", a.slow)
	return a
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (a *app) root(w http.ResponseWriter, _ *http.Request) { a.text(w, http.StatusOK, a.version) }

func (a *app) health(w http.ResponseWriter, _ *http.Request) {
	if a.failing.Load() {
		a.text(w, http.StatusInternalServerError, "unhealthy")
		return
	}
	a.text(w, http.StatusOK, "ok")
}

func (a *app) fail(w http.ResponseWriter, _ *http.Request) {
	a.failing.Store(true)
	a.text(w, http.StatusOK, "health now failing")
}

func (a *app) slow(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 {
		a.text(w, http.StatusBadRequest, "ms must be a non-negative integer")
		return
	}
	// Deliberately not cut short by shutdown: this request models work in
	// flight that a graceful stop must let finish.
	time.Sleep(time.Duration(ms) * time.Millisecond)
	a.text(w, http.StatusOK, a.version)
}

func (a *app) text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-App-Version", a.version)
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// runProbe implements -probe and returns the exit code.
func runProbe(url, port string) int {
	if len(url) > 0 && url[0] == '/' {
		url = "http://127.0.0.1:" + port + url
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe %s: %v\n", url, err)
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(os.Stderr, "probe %s: %s\n", url, resp.Status)
		return 1
	}
	return 0
}
