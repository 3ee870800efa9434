package sidecar

import (
	"sync"
	"sync/atomic"

	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/registryapi"
)

// hookState is what the webhook endpoints, the inbox consumer and the
// deploy step share.
type hookState struct {
	// ready is set once the controllers were listed: before that, no push
	// can be matched to a workload, and webhooks are answered 503.
	ready    atomic.Bool
	resolver *registryapi.Resolver
	inbox    *inbox
	repos    sync.Map // workload image label -> normalised repository ("" when invalid)
}

// repository normalises a workload's image once: every delivery compares
// its push against every workload.
func (h *hookState) repository(image string) string {
	if r, ok := h.repos.Load(image); ok {
		return r.(string)
	}
	r, _ := imageref.Repository(image)
	h.repos.Store(image, r)
	return r
}

func newHookState(s *Sidecar) *hookState {
	return &hookState{
		resolver: &registryapi.Resolver{Insecure: s.cfg.Hooks.InsecureRegistries},
		inbox:    newInbox(s.store, s.queue.Submit, s.cfg.InstanceID, s.log),
	}
}
