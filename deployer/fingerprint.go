package deployer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/tinyforge/tinyforge/labels"
)

// Fingerprint identifies the runtime config a container is created from,
// apart from its image: env, command, limits, volumes, port and network,
// and on a swarm its replicas and placement.
// It is stored as a label on each container, so a label change that alters
// any of these makes the running container stale and the next deploy of the
// same image a real one; faces and health settings are not part of it,
// since changing them needs no new container.
func Fingerprint(w *labels.Workload, network string) string {
	b, _ := json.Marshal(struct {
		Port        int
		Env         map[string]string
		Command     labels.Args
		Entrypoint  labels.Args
		CPU         float64
		Memory      int
		Volumes     map[string]*labels.Volume
		Network     string
		VolumesBase string
		PIDs        int               `json:",omitempty"` // omitted at 0, so older fingerprints stay valid
		Replicas    int               `json:",omitempty"` // likewise, from 2 (0 and 1 run one)
		Placement   *labels.Placement `json:",omitempty"`
	}{w.Port, w.Env, w.Command, w.Entrypoint, w.CPULimit, w.MemoryLimit, w.Volumes, network, w.Settings.BaseVolumePath, w.PidsLimit,
		replicasKey(w.Replicas), placementKey(w.Placement)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// replicasKey is 0 for one replica, however asked, so the fingerprint of
// a workload that never asked for more stays what it was.
func replicasKey(n int) int {
	if n <= 1 {
		return 0
	}
	return n
}

func placementKey(p labels.Placement) *labels.Placement {
	if p.IsZero() {
		return nil
	}
	return &p
}
