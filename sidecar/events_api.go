package sidecar

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/httpapi"
)

// workloadEvents lists a workload's history (deploys and deliveries),
// newest first: GET /v1/workloads/{name}/events?n=100.
func (s *Sidecar) workloadEvents(w http.ResponseWriter, r *http.Request) error {
	n, err := eventCount(r)
	if err != nil {
		return err
	}
	evs, err := s.store.Events(r.Context(), mux.Vars(r)["name"], n)
	if err != nil {
		return storeDown(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string][]deployer.Event{"events": evs})
	return nil
}

// globalEvents lists the deliveries that concern no workload (ignored,
// rejected), newest first: GET /v1/events?n=100.
func (s *Sidecar) globalEvents(w http.ResponseWriter, r *http.Request) error {
	n, err := eventCount(r)
	if err != nil {
		return err
	}
	evs, err := s.store.GlobalEvents(r.Context(), n)
	if err != nil {
		return storeDown(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string][]deployer.Event{"events": evs})
	return nil
}

// eventCount reads ?n= (default 100; 0 = all kept).
func eventCount(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("n")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, httpapi.Errorf(http.StatusBadRequest, fmt.Sprintf("n=%q: want a count >= 0", v))
	}
	return n, nil
}
