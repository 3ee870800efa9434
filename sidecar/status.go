package sidecar

import (
	"maps"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dnsplug"
	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/labels"
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

type workloadStatus struct {
	Config    *labels.Workload    `json:"config"`
	Busy      bool                `json:"busy"`
	Instances []deployer.Instance `json:"instances"`
	Routes    []deployer.Route    `json:"routes"`
	History   []deployer.Event    `json:"history"`
	// DNS is the state of the face records (with DNS managed): in place,
	// failed and retried, in conflict with a record not ours.
	DNS []dnsplug.RecordStatus `json:"dns,omitempty"`
	// Tasks are, on a swarm (--engine swarm), the tasks of each instance
	// (a service), by instance id: slot, node, state, address.
	Tasks map[string][]taskStatus `json:"tasks,omitempty"`
}

// listWorkloads shows every declared workload with its instances, routes
// and recent deploys, plus the label problems of each controller.
func (s *Sidecar) listWorkloads(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	workloads := s.controllers.Workloads()
	out := map[string]*workloadStatus{}
	records := s.dnsStatuses()
	for _, name := range slices.Sorted(maps.Keys(workloads)) {
		st := &workloadStatus{Config: workloads[name], Busy: s.queue.Busy(name), DNS: records[name]}
		delete(records, name)
		var err error
		if st.Instances, err = s.store.Instances(ctx, name); err != nil {
			return storeDown(err)
		}
		if st.Routes, err = s.store.Routes(ctx, name); err != nil {
			return storeDown(err)
		}
		history, err := s.store.Events(ctx, name, 100)
		if err != nil {
			return storeDown(err)
		}
		deploys := deployer.Deploys(history) // deliveries: /v1/workloads/{name}/events
		st.History = deploys[:min(10, len(deploys))]
		st.Tasks = s.tasksOf(ctx, st.Instances)
		out[name] = st
	}
	s.mu.Lock()
	orphaned := maps.Clone(s.orphanStatus)
	s.mu.Unlock()
	body := map[string]any{"workloads": out, "problems": s.controllers.Problems(), "orphans": orphaned}
	if len(records) > 0 { // records of workloads no controller declares: kept until teardown, or being removed
		body["dns_undeclared"] = records
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
	return nil
}

// teardownWorkload stores (durably, before the 202) the removal of a workload no controller declares
// any more: containers, routes and records. A declared workload is refused,
// since it would come back on its next push. Tearing down what is already
// gone is a no-op.
func (s *Sidecar) teardownWorkload(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	if s.controllers.Workload(name) != nil {
		return httpapi.Errorf(http.StatusConflict, "workload "+name+" is still declared by a controller: remove its labels first")
	}
	e := redisstore.InboxEntry{Kind: deployer.KindTeardown, Workload: name, Source: "api"}
	if err := s.intake.Enqueue(r.Context(), e); err != nil {
		return storeDown(err)
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"workload": name, "queued": "teardown"})
	return nil
}

// storeDown is the answer when Redis fails a read: 503, so the caller
// retries, rather than a 500 that reads as a bug.
func storeDown(err error) error {
	return httpapi.Errorf(http.StatusServiceUnavailable, "state store unavailable, retry later: "+err.Error())
}
