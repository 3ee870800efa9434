package dnsplug

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/dnsplug/dnsrec"
	"github.com/tinyforge/tinyforge/dnsplug/rfc2136"
)

// Zone is what a provider does against one zone: read a name's records
// from the authority, and apply a plan. rfc2136.Zone and cloudflare.Zone
// implement it.
type Zone interface {
	Lookup(ctx context.Context, fqdn string) (dnsrec.Records, error)
	Apply(ctx context.Context, p dnsrec.Plan) error
}

var _ Zone = (*rfc2136.Zone)(nil)

// Manager is the Provider over one Zone: it reads, plans with dnsrec,
// applies, then reads again until the authority shows the change.
type Manager struct {
	zone    Zone
	name    string
	confirm time.Duration // how long the authority may take to show a change
	poll    time.Duration
}

var _ Provider = (*Manager)(nil)

// NewManager manages the records of zone (e.g. example.com) through z.
// confirm bounds the wait for the authority to show a change; 10s when 0.
func NewManager(zone string, z Zone, confirm time.Duration) *Manager {
	if confirm <= 0 {
		confirm = 10 * time.Second
	}
	return &Manager{zone: z, name: dnsrec.Canonical(zone), confirm: confirm, poll: 100 * time.Millisecond}
}

// now is the clock of Status.Checked.
var now = func() time.Time { return time.Now().UTC() }

// Ensure implements Provider.
func (m *Manager) Ensure(ctx context.Context, r Record) (Status, error) {
	st := Status{FQDN: dnsrec.Canonical(r.FQDN), Checked: now()}
	if err := r.Validate(m.name); err != nil {
		return failed(st, "dns ensure", err)
	}
	have, err := m.zone.Lookup(ctx, st.FQDN)
	if err != nil {
		return failed(st, "dns ensure", err)
	}
	st.Records = have.Strings()
	p, err := dnsrec.PlanEnsure(r, have)
	if err != nil {
		return failed(st, "dns ensure", err)
	}
	if !p.Empty() {
		if err := m.zone.Apply(ctx, p); err != nil {
			return failed(st, "dns ensure", err)
		}
		st.Changed = true
		have, err = m.confirmed(ctx, st.FQDN, func(h dnsrec.Records) (dnsrec.Plan, error) { return dnsrec.PlanEnsure(r, h) })
		st.Records = have.Strings()
		if err != nil {
			return failed(st, "dns ensure", err)
		}
	}
	st.State = dnsrec.StateOK
	return st, nil
}

// Remove implements Provider.
func (m *Manager) Remove(ctx context.Context, fqdn string, owner Owner) (Status, error) {
	st := Status{FQDN: dnsrec.Canonical(fqdn), Checked: now()}
	if err := dnsrec.CheckName(fqdn); err != nil {
		return failed(st, "dns remove", err)
	}
	have, err := m.zone.Lookup(ctx, st.FQDN)
	if err != nil {
		return failed(st, "dns remove", err)
	}
	st.Records = have.Strings()
	p, err := dnsrec.PlanRemove(st.FQDN, owner, have)
	if err != nil {
		return failed(st, "dns remove", err)
	}
	if !p.Empty() {
		if err := m.zone.Apply(ctx, p); err != nil {
			return failed(st, "dns remove", err)
		}
		st.Changed = true
		have, err = m.confirmed(ctx, st.FQDN, func(h dnsrec.Records) (dnsrec.Plan, error) { return dnsrec.PlanRemove(st.FQDN, owner, h) })
		st.Records = have.Strings()
		if err != nil {
			return failed(st, "dns remove", err)
		}
	}
	st.State = dnsrec.StateRemoved
	return st, nil
}

// Verify implements Provider.
func (m *Manager) Verify(ctx context.Context, r Record) (Status, error) {
	st := Status{FQDN: dnsrec.Canonical(r.FQDN), Checked: now()}
	if err := r.Validate(m.name); err != nil {
		return failed(st, "dns verify", err)
	}
	have, err := m.zone.Lookup(ctx, st.FQDN)
	if err != nil {
		return failed(st, "dns verify", err)
	}
	st.Records = have.Strings()
	p, err := dnsrec.PlanEnsure(r, have)
	if err != nil {
		return failed(st, "dns verify", err)
	}
	st.State = dnsrec.StateOK
	if !p.Empty() {
		st.State, st.Error = dnsrec.StateDrift, "would change: "+describe(p)
	}
	return st, nil
}

// confirmed reads fqdn until plan finds nothing left to do, or the
// confirmation time runs out.
func (m *Manager) confirmed(ctx context.Context, fqdn string, plan func(dnsrec.Records) (dnsrec.Plan, error)) (dnsrec.Records, error) {
	ctx, cancel := context.WithTimeout(ctx, m.confirm)
	defer cancel()
	var last error
	for {
		have, err := m.zone.Lookup(ctx, fqdn)
		if err == nil {
			var p dnsrec.Plan
			if p, err = plan(have); err == nil && p.Empty() {
				return have, nil
			} else if err == nil {
				err = fmt.Errorf("%s: %w after %s: the authority still lacks %s", fqdn, dnsrec.ErrNotConfirmed, m.confirm, describe(p))
			}
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return have, last
		case <-time.After(m.poll):
		}
	}
}

func failed(st Status, op string, err error) (Status, error) {
	st.State = dnsrec.StateFailed
	if errors.Is(err, dnsrec.ErrConflict) {
		st.State = dnsrec.StateConflict
	}
	err = fmt.Errorf("%s: %w", op, err)
	st.Error = err.Error()
	return st, err
}

func describe(p dnsrec.Plan) string {
	var parts []string
	for _, c := range p.Add {
		parts = append(parts, "+"+c.String())
	}
	for _, c := range p.Delete {
		parts = append(parts, "-"+c.String())
	}
	return strings.Join(parts, ", ")
}
