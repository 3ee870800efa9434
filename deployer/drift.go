package deployer

import "cmp"

// Drift compares recorded instances with Docker's containers and returns
// the instances whose record must change, already updated. An instance's
// address is read on its own network, network when it has none recorded.
func Drift(instances []Instance, containers []Container, network string) []Instance {
	byID := make(map[string]Container, len(containers))
	for _, c := range containers {
		byID[c.ID] = c
	}
	var changed []Instance
	for _, in := range instances {
		next := in
		if c, ok := byID[in.ID]; ok {
			next.State = instanceState(c)
			if ip := c.IPs[cmp.Or(in.Network, network)]; ip != "" {
				next.Address = ip
			}
		} else {
			next.State = StateMissing
		}
		if next.State != in.State || next.Address != in.Address {
			changed = append(changed, next)
		}
	}
	return changed
}

// instanceState maps Docker's container state to a recorded one.
func instanceState(c Container) string {
	switch {
	case c.Running:
		return StateRunning
	case c.State == "created":
		return StateCreated
	case c.State == "":
		return StateExited
	default:
		return c.State // exited, dead, paused, restarting, removing
	}
}
