package sidecar

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
)

// requireStore answers 503 while Redis does not answer (see storeUp).
func (s *Sidecar) requireStore(next httpapi.HandlerFunc) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.storeUp(w, r); err != nil {
			return err
		}
		return next(w, r)
	}
}

// storeUp is a 503 error while Redis does not answer, so a registry
// retries its delivery later instead of it being accepted and lost; the
// data plane does not depend on Redis, routes stay as they are. A sidecar
// built without a store (HTTP-layer unit tests) has nothing to check.
func (s *Sidecar) storeUp(w http.ResponseWriter, r *http.Request) error {
	if s.store == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		w.Header().Set("Retry-After", "5")
		return httpapi.Errorf(http.StatusServiceUnavailable, "state store unavailable, retry later: "+err.Error())
	}
	return nil
}

// workloadDeploys returns a workload's deploy history, newest first:
// every deploy with its steps, timings, digest, epoch and outcome.
// ?limit=N (1..HistoryLen, default 100) bounds it.
func (s *Sidecar) workloadDeploys(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	limit := int64(100)
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > redisstore.HistoryLen {
			return httpapi.Errorf(http.StatusBadRequest, "limit "+strconv.Quote(v)+": want an integer from 1 to "+strconv.Itoa(redisstore.HistoryLen))
		}
		limit = n
	}
	all, err := s.store.Events(r.Context(), name, 0)
	if err != nil {
		return storeDown(err)
	}
	if len(all) == 0 && s.controllers.Workload(name) == nil {
		return httpapi.Errorf(http.StatusNotFound, "unknown workload "+strconv.Quote(name))
	}
	evs := deployer.Deploys(all) // deliveries are at /v1/workloads/{name}/events
	evs = evs[:min(int64(len(evs)), limit)]
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"workload": name, "deploys": evs})
	return nil
}

// rollbackWorkload queues a deploy of an earlier successful image digest
// from the workload's history, blue-green like any deploy: the previous
// one, or the one the optional body names ({"digest": "sha256:..."} or
// {"tag": "v1"}), which must be a successful deploy in the history. The
// rollback is stored in the durable inbox before the 202: it survives a
// crash, and no delivery that arrives after it can replace it.
func (s *Sidecar) rollbackWorkload(w http.ResponseWriter, r *http.Request) error {
	to, err := rollbackBody(w, r)
	if err != nil {
		return err
	}
	reply, err := s.rollback(r.Context(), mux.Vars(r)["name"], to)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, reply)
	return nil
}

// rollback queues the rollback of name to "to" (a digest, a tag, or ""
// for the previous good image); the API and the status page call it.
func (s *Sidecar) rollback(ctx context.Context, name, to string) (map[string]string, error) {
	if s.controllers.Workload(name) == nil {
		return nil, httpapi.Errorf(http.StatusNotFound, "unknown workload "+strconv.Quote(name))
	}
	history, err := s.store.Events(ctx, name, 0)
	if err != nil {
		return nil, storeDown(err)
	}
	current, err := s.servingDigest(ctx, name)
	if err != nil {
		return nil, err
	}
	target, err := deployer.RollbackTo(history, current, to)
	if err != nil {
		return nil, httpapi.Errorf(http.StatusConflict, err.Error()+" (workload "+name+")")
	}
	req := deployer.RollbackRequest(name, target)
	e := redisstore.InboxEntry{Kind: req.Kind, Workload: name, Image: target.Image, Tag: req.Tag, Digest: req.Digest, Source: req.Source}
	if err := s.intake.Enqueue(ctx, e); err != nil {
		return nil, storeDown(err)
	}
	s.log.Info().Str(logkey.Workload, name).Str(logkey.Image, target.Image).Str(logkey.Digest, target.Digest).
		Str(logkey.Source, "rollback").Msg("rollback queued")
	return map[string]string{
		"workload": name, "image": target.Image, "tag": req.Tag, "digest": req.Digest, "from_deploy": target.Deploy, "current": current,
	}, nil
}

// servingDigest is the digest of the container that serves the workload
// (deployer.Serving; "" when nothing does).
func (s *Sidecar) servingDigest(ctx context.Context, workload string) (string, error) {
	routes, err := s.store.Routes(ctx, workload)
	if err != nil {
		return "", storeDown(err)
	}
	cs, err := s.engine.Containers(ctx, workload)
	if err != nil {
		return "", err
	}
	c, _ := deployer.Serving(cs, routes)
	return c.Labels[labels.ManagedDigest], nil
}
