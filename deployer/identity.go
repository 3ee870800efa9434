package deployer

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge/internal/logkey"
	"github.com/tinyforge/tinyforge/labels"
)

// Signer authenticates the identity labels of the containers the engine
// creates (labelsig.MAC implements it): without a valid signature, a
// container carrying tinyforge.managed=true was made by someone else and
// is never adopted, routed, converged, stopped or removed.
type Signer interface {
	Sign(lbls map[string]string) string
	Verify(lbls map[string]string, sig string) error
}

// identityLabels are the labels of a managed container its signature
// covers, with the container's name: what the reconciler, route rebuilds,
// converge and rollback believe of a container.
var identityLabels = []string{
	labels.Managed, labels.ManagedWorkload, labels.ManagedImage, labels.ManagedTag,
	labels.ManagedDigest, labels.ManagedConfig, labels.Scope, labels.ManagedDeploy,
	labels.ManagedPort, labels.ManagedNetwork, labels.ManagedHosts, labels.ManagedKeyScope,
}

// identity is what the signature of a container named name covers.
func identity(name string, lbls map[string]string) map[string]string {
	out := map[string]string{"name": name}
	for _, k := range identityLabels {
		if v, ok := lbls[k]; ok {
			out[k] = v
		}
	}
	return out
}

// sign writes the signature of the container named name into its labels.
func (e *Engine) sign(name string, lbls map[string]string) {
	if e.Identity == nil {
		return
	}
	lbls[labels.ManagedSignature] = e.Identity.Sign(identity(name, lbls))
}

// authentic reports whether c was created by a sidecar holding the
// identity key (always, without a Signer), and records the others.
func (e *Engine) authentic(c Container) bool {
	if e.Identity == nil {
		return true
	}
	err := e.Identity.Verify(identity(c.Name, c.Labels), c.Labels[labels.ManagedSignature])
	if err == nil {
		return true
	}
	if e.suspects.add(c, err.Error(), e.Now()) {
		e.Log.Warn().Str(logkey.Container, c.Name).Str(logkey.Workload, c.Labels[labels.ManagedWorkload]).
			Str("id", c.ID).Str("problem", err.Error()).
			Msg("container labelled managed is not signed by this sidecar's identity key: ignored (never adopted, routed or removed)")
	}
	return false
}

// Unverified is a container labelled as managed whose signature does not
// verify, as GET /v1/workloads reports it.
type Unverified struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Workload string    `json:"workload"`
	Problem  string    `json:"problem"`
	Since    time.Time `json:"since"`
}

// Unverified lists the containers labelled as managed that the engine
// ignores because their signature does not verify, by name. A container
// seen in no listing for 10 minutes is forgotten. A nil engine has none.
func (e *Engine) Unverified() []Unverified {
	if e == nil {
		return nil
	}
	return e.suspects.list(e.Now())
}

// suspects remembers unverified containers, to log each once and report
// them all. The zero value is ready; a nil *suspects records nothing.
type suspects struct {
	mu   sync.Mutex
	seen map[string]suspect
}

type suspect struct {
	Unverified
	last time.Time
}

const suspectTTL = 10 * time.Minute

// add records c, reporting whether it is new.
func (s *suspects) add(c Container, problem string, now time.Time) bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]suspect{}
	}
	old, known := s.seen[c.ID]
	if !known {
		old.Unverified = Unverified{ID: c.ID, Name: c.Name, Workload: c.Labels[labels.ManagedWorkload], Problem: problem, Since: now.UTC()}
	}
	old.last = now
	s.seen[c.ID] = old
	return !known
}

func (s *suspects) list(now time.Time) []Unverified {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Unverified
	for _, id := range slices.Sorted(maps.Keys(s.seen)) {
		if now.Sub(s.seen[id].last) > suspectTTL {
			delete(s.seen, id)
			continue
		}
		out = append(out, s.seen[id].Unverified)
	}
	slices.SortFunc(out, func(a, b Unverified) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}
