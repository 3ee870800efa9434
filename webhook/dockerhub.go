package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/tinyforge/tinyforge/imageref"
)

type dockerHubEvent struct {
	CallbackURL string `json:"callback_url"`
	PushData    *struct {
		PushedAt float64 `json:"pushed_at"` // seconds; old payloads send 1.417566161e+09
		Tag      string  `json:"tag"`
	} `json:"push_data"`
	Repository *struct {
		RepoName  string `json:"repo_name"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"repository"`
}

// ParseDockerHub reads a Docker Hub repository webhook: one push of
// repository.repo_name with push_data.tag, on docker.io. Docker Hub sends
// neither a digest nor an event id: the caller resolves the digest, and
// the hash of the body (which carries pushed_at) stands in for the id.
func ParseDockerHub(body []byte) ([]Push, error) {
	var ev dockerHubEvent
	if err := decodeJSON("docker hub event", body, &ev); err != nil {
		return nil, err
	}
	if ev.Repository == nil || ev.PushData == nil {
		return nil, fmt.Errorf(`decode docker hub event: want "repository" and "push_data" objects`)
	}
	repo := ev.Repository.RepoName
	if repo == "" && ev.Repository.Namespace != "" && ev.Repository.Name != "" {
		repo = ev.Repository.Namespace + "/" + ev.Repository.Name
	}
	if repo == "" {
		return nil, fmt.Errorf("decode docker hub event: no repository.repo_name")
	}
	tag := ev.PushData.Tag
	if tag == "" || imageref.LooksLikeDigest(tag) {
		return nil, ignored("docker hub push of %s without a tag", repo)
	}
	if err := checkTag("docker hub event", "push_data.tag", tag); err != nil {
		return nil, err
	}
	var when time.Time
	if s := ev.PushData.PushedAt; s > 0 && s < 1e12 { // beyond: not seconds
		sec, frac := math.Modf(s)
		when = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	sum := sha256.Sum256(body)
	return []Push{{
		Registry:   "docker.io",
		Repository: repo,
		Tag:        tag,
		EventID:    "body-" + hex.EncodeToString(sum[:16]),
		Time:       when,
	}}, nil
}
