package dockerhost

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/tinyforge/tinyforge/deployer"
)

// Inspect returns the current view of one container. A missing container is
// an error for which cerrdefs.IsNotFound holds.
func (h *Host) Inspect(ctx context.Context, id string) (deployer.Container, error) {
	resp, err := h.engine.ContainerInspect(ctx, id)
	if err != nil {
		return deployer.Container{}, fmt.Errorf("inspect container %s: %w", short(id), err)
	}
	return fromInspect(resp), nil
}

// List returns every container, running or not, that carries all of the
// given labels, in one ContainerList call.
func (h *Host) List(ctx context.Context, labels map[string]string) ([]deployer.Container, error) {
	cs, err := h.engine.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilters(labels)})
	if err != nil {
		return nil, fmt.Errorf("list containers %v: %w", labels, err)
	}
	out := make([]deployer.Container, 0, len(cs))
	for _, c := range cs {
		out = append(out, fromSummary(c))
	}
	return out, nil
}

// labelFilters turns labels into "label=k=v" filters (all must match); an
// empty value matches any value of the key.
func labelFilters(labels map[string]string) filters.Args {
	f := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	return f
}

// fromInspect maps an inspect response. Running means Docker's status is
// "running", as in fromSummary (Docker's State.Running is also true while
// paused or restarting).
func fromInspect(r container.InspectResponse) deployer.Container {
	c := deployer.Container{
		ID:   r.ID,
		Name: strings.TrimPrefix(r.Name, "/"),
	}
	if r.Config != nil {
		c.Image = r.Config.Image
		c.Labels = r.Config.Labels
	}
	if r.State != nil {
		c.State = string(r.State.Status)
		c.Running = r.State.Status == container.StateRunning
		if r.State.Health != nil && r.State.Health.Status != container.NoHealthcheck {
			c.Health = r.State.Health.Status
		}
	}
	c.Restarts = r.RestartCount
	if t, err := time.Parse(time.RFC3339Nano, r.Created); err == nil {
		c.Created = t
	}
	if r.NetworkSettings != nil {
		c.IPs = ips(r.NetworkSettings.Networks)
		c.HostPorts = hostPorts(r.NetworkSettings.Ports)
	}
	return c
}

// fromSummary maps a list entry. The list reports creation in whole seconds.
func fromSummary(s container.Summary) deployer.Container {
	c := deployer.Container{
		ID:      s.ID,
		Name:    summaryName(s.Names),
		Image:   s.Image,
		Labels:  s.Labels,
		State:   string(s.State),
		Running: s.State == container.StateRunning,
		Created: time.Unix(s.Created, 0),
		Health:  healthFromStatus(s.Status),
	}
	if s.NetworkSettings != nil {
		c.IPs = ips(s.NetworkSettings.Networks)
	}
	return c
}

// summaryName picks the container's own name among Names, which also holds
// legacy link aliases ("/other/alias").
func summaryName(names []string) string {
	for _, n := range names {
		if n = strings.TrimPrefix(n, "/"); !strings.Contains(n, "/") {
			return n
		}
	}
	if len(names) > 0 {
		return strings.TrimPrefix(names[0], "/")
	}
	return ""
}

func ips(nets map[string]*network.EndpointSettings) map[string]string {
	out := make(map[string]string, len(nets))
	for name, ep := range nets {
		if ep != nil && ep.IPAddress != "" {
			out[name] = ep.IPAddress
		}
	}
	return out
}
