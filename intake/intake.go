// Package intake takes deploy requests in: the registry webhooks
// (distribution, GitHub, Gitea/Forgejo, Harbor, Docker Hub, Quay) and the
// deploy API authenticate and parse a delivery, match its pushes to the
// declared workloads and store what is to deploy in the durable inbox
// before answering 202; the management API's rollbacks and teardowns and
// the controllers' converges are stored there too (Enqueue); the inbox
// consumer, the only caller of the deploy queue's submit, turns stored
// entries into requests and acknowledges them once the request that
// covers them finished; Prepare resolves a request's digest just before
// it deploys. It also owns the delivery rules on that path: the tag
// policy (at intake and again at dequeue, Admit), manual approval (Hold,
// Approve, Reject, ExpireApprovals) and the poller's way in (Polled).
//
// It is built by the composition root (sidecar) with its dependencies
// explicit: a Store (redisstore), the declared workloads (Declared,
// controllers) and a submit function (the deploy queue). It must not import
// sidecar, controllers, client, admin or cmd.
package intake

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/redisstore"
	"github.com/tinyforge/tinyforge/registryapi"
)

// Declared is where intake learns the workloads the controllers declare.
type Declared interface {
	// Workloads returns every declared workload, by name; the caller may
	// keep the map.
	Workloads() map[string]*labels.Workload
}

// Intake is the webhook and deploy-API intake with its inbox consumer.
type Intake struct {
	cfg      Config
	store    Store
	declared Declared
	log      zerolog.Logger
	// ready is set once the controllers were listed: before that, no push
	// can be matched to a workload, and webhooks are answered 503.
	ready    atomic.Bool
	resolver *registryapi.Resolver
	inbox    *inbox
	repos    sync.Map // workload image label -> normalised repository ("" when invalid)
}

// New wires an intake; submit hands requests to the deploy queue, as one
// batch (deployer.Queue.Submit). Call
// Mount to serve its routes and Run to consume the inbox.
func New(cfg Config, store Store, declared Declared, submit func(...deployer.Request) error, log zerolog.Logger) *Intake {
	if cfg.Observer == nil {
		cfg.Observer = nobody{}
	}
	return &Intake{
		cfg: cfg, store: store, declared: declared, log: log,
		resolver: &registryapi.Resolver{Insecure: cfg.Hooks.InsecureRegistries, TokenHosts: cfg.Hooks.TokenHosts,
			Endpoints: cfg.Hooks.RegistryEndpoints, Allow: cfg.Images.Allows},
		inbox: newInbox(store, submit, cfg.Consumer, log),
	}
}

// Run consumes the durable inbox until ctx ends or the queue closes.
// listed must succeed first (it lists the controllers): until then
// webhooks are answered 503 and no entry is read, since either would meet
// a workload not known yet.
func (in *Intake) Run(ctx context.Context, listed func(context.Context) error) {
	in.inbox.run(ctx, func(ctx context.Context) error {
		if err := listed(ctx); err != nil {
			return err
		}
		in.ready.Store(true)
		return nil
	})
}

// Ready reports whether webhooks are taken: Run has listed the
// controllers.
func (in *Intake) Ready() bool { return in.ready.Load() }

// Done acknowledges the inbox entries a finished request covers (and
// records the requests it superseded); the executor calls it once per
// request it ran or dropped.
func (in *Intake) Done(ctx context.Context, req deployer.Request) { in.inbox.done(ctx, req) }

// Enqueue stores an operation that does not come from a push (a
// rollback, a teardown, a converge) in the durable inbox, from where the
// consumer queues it like a delivery. Once it returns nil the operation
// survives a crash; an error means nothing was stored.
func (in *Intake) Enqueue(ctx context.Context, e redisstore.InboxEntry) error {
	if e.Received.IsZero() {
		e.Received = time.Now().UTC()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	id, err := in.store.Enqueue(ctx, e)
	if err != nil {
		return err
	}
	in.log.Info().Str(logkey.Workload, e.Workload).Str("kind", string(e.Kind)).Str(logkey.Tag, e.Tag).
		Str(logkey.Digest, e.Digest).Str(logkey.Source, e.Source).Str("entry", id).Msg("operation stored in the inbox")
	return nil
}

// repository normalises a workload's image once: every delivery compares
// its push against every workload.
func (in *Intake) repository(image string) string {
	if r, ok := in.repos.Load(image); ok {
		return r.(string)
	}
	r, _ := imageref.Repository(image)
	in.repos.Store(image, r)
	return r
}
