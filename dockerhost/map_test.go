package dockerhost

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"
)

func TestRepoDigest(t *testing.T) {
	const d = "sha256:0123"
	tests := []struct {
		repo string
		in   []string
		want string
	}{
		{"127.0.0.1:5000/app", []string{"127.0.0.1:5000/app@" + d}, d},
		{"127.0.0.1:5000/app", []string{"127.0.0.1:5000/other@sha256:9", "127.0.0.1:5000/app@" + d}, d},
		{"127.0.0.1:5000/app", []string{"127.0.0.1:5001/app@" + d}, ""},
		{"docker.io/library/nginx", []string{"nginx@" + d}, d}, // the engine reports familiar names
		{"docker.io/acme/web", []string{"acme/web@" + d}, d},
		{"127.0.0.1:5000/app", nil, ""},
		{"127.0.0.1:5000/app", []string{"garbage"}, ""},
	}
	for _, tt := range tests {
		if got := repoDigest(tt.repo, tt.in); got != tt.want {
			t.Errorf("repoDigest(%q, %v) = %q, want %q", tt.repo, tt.in, got, tt.want)
		}
	}
}

func TestFromSummary(t *testing.T) {
	s := container.Summary{
		ID:      "abc",
		Names:   []string{"/peer/alias", "/web-1"},
		Image:   "app:v1",
		Labels:  map[string]string{"k": "v"},
		State:   container.StateExited,
		Created: 1700000000,
		NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{
			"tf": {IPAddress: "172.20.0.2"}, "none": {},
		}},
	}
	c := fromSummary(s)
	if c.Name != "web-1" || c.Running || c.State != "exited" || c.IPs["tf"] != "172.20.0.2" || len(c.IPs) != 1 || !c.Created.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("fromSummary = %+v", c)
	}
}

func TestLabelFilters(t *testing.T) {
	f := labelFilters(map[string]string{"a": "1", "b": ""})
	got := f.Get("label")
	if len(got) != 2 || !f.ExactMatch("label", "a=1") || !f.ExactMatch("label", "b") {
		t.Errorf("label filters = %v", got)
	}
}

func TestToEvent(t *testing.T) {
	m := events.Message{
		Action:   "die",
		Actor:    events.Actor{ID: "abc", Attributes: map[string]string{"name": "web-1", "image": "app:v1", "exitCode": "0", "k": "v"}},
		TimeNano: 1700000000123456789,
	}
	ev := toEvent(m)
	if ev.Action != "die" || ev.ContainerID != "abc" || ev.Name != "web-1" || ev.Labels["k"] != "v" || ev.Labels["name"] != "" || ev.Time.UnixNano() != m.TimeNano {
		t.Errorf("toEvent = %+v", ev)
	}
}

func TestHealthFromStatus(t *testing.T) {
	for status, want := range map[string]string{
		"Up 5 seconds (healthy)":            "healthy",
		"Up 2 minutes (unhealthy)":          "unhealthy",
		"Up 1 second (health: starting)":    "starting",
		"Up 3 hours":                        "",
		"Exited (0) 2 seconds ago":          "",
		"Restarting (1) Less than a second": "",
	} {
		if got := healthFromStatus(status); got != want {
			t.Errorf("healthFromStatus(%q) = %q, want %q", status, got, want)
		}
	}
}
