package sidecar

import (
	"maps"
	"net/http"
	"slices"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/labels"
)

// healthz answers 200 while the sidecar can reach Redis.
func (s *Sidecar) healthz(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.Ping(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"redis": err.Error()})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"redis": "ok"})
	return nil
}

type workloadStatus struct {
	Config    *labels.Workload    `json:"config"`
	Busy      bool                `json:"busy"`
	Instances []deployer.Instance `json:"instances"`
	Routes    []deployer.Route    `json:"routes"`
	History   []deployer.Event    `json:"history"`
}

// listWorkloads shows every declared workload with its instances, routes
// and recent deploys, plus the label problems of each controller.
func (s *Sidecar) listWorkloads(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	workloads := s.controllers.Workloads()
	out := map[string]*workloadStatus{}
	for _, name := range slices.Sorted(maps.Keys(workloads)) {
		st := &workloadStatus{Config: workloads[name], Busy: s.queue.Busy(name)}
		var err error
		if st.Instances, err = s.store.Instances(ctx, name); err != nil {
			return err
		}
		if st.Routes, err = s.store.Routes(ctx, name); err != nil {
			return err
		}
		if st.History, err = s.store.Events(ctx, name, 10); err != nil {
			return err
		}
		out[name] = st
	}
	writeJSON(w, http.StatusOK, map[string]any{"workloads": out, "problems": s.controllers.Problems()})
	return nil
}
