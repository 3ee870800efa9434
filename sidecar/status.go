package sidecar

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/redisstore"
)

// healthz answers 200 while the sidecar can reach Redis.
func (s *Sidecar) healthz(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.Ping(r.Context()); err != nil {
		httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"redis": err.Error()})
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"redis": "ok"})
	return nil
}

// listWorkloads shows every declared workload with its instances, routes
// and recent deploys, plus the label problems of each controller.
func (s *Sidecar) listWorkloads(w http.ResponseWriter, r *http.Request) error {
	st, err := s.overview(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

// teardownWorkload stores (durably, before the 202) the removal of a
// workload no controller declares any more: containers, routes and
// records. A declared workload (or one in conflict between controllers) is
// refused, since it would come back on its next push. Tearing down what is
// already gone is a no-op.
func (s *Sidecar) teardownWorkload(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	if err := s.teardown(r.Context(), name); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"workload": name, "queued": "teardown"})
	return nil
}

// teardown stores the removal of a workload no controller declares (see
// teardownWorkload); the status page calls it too.
func (s *Sidecar) teardown(ctx context.Context, name string) error {
	if s.controllers.Declares(name) {
		return httpapi.Errorf(http.StatusConflict, "workload "+name+" is still declared by a controller: remove its labels first")
	}
	e := redisstore.InboxEntry{Kind: deployer.KindTeardown, Workload: name, Source: "api"}
	if err := s.intake.Enqueue(ctx, e); err != nil {
		return storeDown(err)
	}
	return nil
}

// storeDown is the answer when Redis fails a read: 503, so the caller
// retries, rather than a 500 that reads as a bug.
func storeDown(err error) error {
	return httpapi.Errorf(http.StatusServiceUnavailable, "state store unavailable, retry later: "+err.Error())
}

// showWorkload is one workload as GET /v1/workloads shows it (its
// instances, routes, recent deploys, pending approval and poll state).
func (s *Sidecar) showWorkload(w http.ResponseWriter, r *http.Request) error {
	st, err := s.overview(r.Context())
	if err != nil {
		return err
	}
	name := mux.Vars(r)["name"]
	wl, ok := st.Workloads[name]
	if !ok {
		return httpapi.Errorf(http.StatusNotFound, "unknown workload "+strconv.Quote(name))
	}
	httpapi.WriteJSON(w, http.StatusOK, wl)
	return nil
}
