package sidecar

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/tinyforge/tinyforge/intake"
	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/redisstore"
)

// approveWorkload deploys the workload's delivery pending approval: it is
// stored in the durable inbox (a delivery of source approval, its digest
// exactly) before the 202. 409 when nothing is pending.
func (s *Sidecar) approveWorkload(w http.ResponseWriter, r *http.Request) error {
	p, err := s.approve(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, approvalReply(p, "approved: deploying"))
	return nil
}

// rejectWorkload drops the workload's delivery pending approval, recorded
// in its history. 409 when nothing is pending.
func (s *Sidecar) rejectWorkload(w http.ResponseWriter, r *http.Request) error {
	p, err := s.reject(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, approvalReply(p, "rejected"))
	return nil
}

// approve and reject act on name's pending delivery; the API and the
// status page call them.
func (s *Sidecar) approve(ctx context.Context, name string) (redisstore.Pending, error) {
	return s.settlePending(ctx, name, s.intake.Approve)
}

func (s *Sidecar) reject(ctx context.Context, name string) (redisstore.Pending, error) {
	return s.settlePending(ctx, name, s.intake.Reject)
}

func (s *Sidecar) settlePending(ctx context.Context, name string, act func(context.Context, string) (redisstore.Pending, error)) (redisstore.Pending, error) {
	if s.controllers.Workload(name) == nil {
		return redisstore.Pending{}, httpapi.Errorf(http.StatusNotFound, "unknown workload "+strconv.Quote(name))
	}
	p, err := act(ctx, name)
	switch {
	case errors.Is(err, intake.ErrNotPending):
		return p, httpapi.Errorf(http.StatusConflict, err.Error())
	case err != nil:
		return p, storeDown(err)
	}
	return p, nil
}

func approvalReply(p redisstore.Pending, outcome string) map[string]string {
	return map[string]string{"workload": p.Workload, "image": p.Image, "tag": p.Tag, "digest": p.Digest, "outcome": outcome}
}

// approvalSweep is how often pending deliveries are checked for expiry.
const approvalSweep = 2 * time.Second

// expireLoop drops and records the pending deliveries whose
// approvalTimeout passed, until ctx ends.
func (s *Sidecar) expireLoop(ctx context.Context) {
	t := time.NewTicker(approvalSweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.intake.ExpireApprovals(ctx, now)
		}
	}
}
