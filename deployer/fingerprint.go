package deployer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/tinyforge/tinyforge/labels"
)

// Fingerprint identifies the runtime config a container is created from,
// apart from its image: env, command, limits, volumes, port and network.
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
		PIDs        int `json:",omitempty"` // omitted at 0, so older fingerprints stay valid
	}{w.Port, w.Env, w.Command, w.Entrypoint, w.CPULimit, w.MemoryLimit, w.Volumes, network, w.Settings.BaseVolumePath, w.PidsLimit})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
