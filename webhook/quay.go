package webhook

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tinyforge/tinyforge/imageref"
)

type quayEvent struct {
	Repository  string          `json:"repository"`
	DockerURL   string          `json:"docker_url"`
	UpdatedTags json.RawMessage `json:"updated_tags"`
}

// ParseQuay reads a Quay repo_push notification: one push per entry of
// updated_tags, which is a list of tags, or (in old Quay versions) a map
// of tag to image id whose values are not manifest digests and are
// ignored. The registry and repository come from docker_url
// ("quay.io/ns/repo", or a self-hosted Quay's host). Quay sends neither a
// digest nor an event id: the caller resolves the digest.
func ParseQuay(body []byte) ([]Push, error) {
	var ev quayEvent
	if err := decodeJSON("quay event", body, &ev); err != nil {
		return nil, err
	}
	image := ev.DockerURL
	if image == "" && ev.Repository != "" {
		image = "quay.io/" + ev.Repository
	}
	host, repo, ok := imageref.SplitHost(image)
	if !ok {
		return nil, fmt.Errorf("decode quay event: docker_url %q does not name host/repository", ev.DockerURL)
	}
	tags, err := quayTags(ev.UpdatedTags)
	if err != nil {
		return nil, err
	}
	var pushes []Push
	for i, tag := range tags {
		if tag == "" || imageref.LooksLikeDigest(tag) {
			continue
		}
		if err := checkTag("quay event", fmt.Sprintf("updated_tags[%d]", i), tag); err != nil {
			return nil, err
		}
		pushes = append(pushes, Push{Registry: host, Repository: repo, Tag: tag})
	}
	if len(pushes) == 0 {
		return nil, ignored("quay event for %s updates no tag", image)
	}
	return pushes, nil
}

// quayTags reads updated_tags in its list or its map shape; map keys are
// sorted, since JSON objects have no order.
func quayTags(raw json.RawMessage) ([]string, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode quay event: updated_tags is neither a list of tags nor a map of tag to image")
	}
	return slices.Sorted(maps.Keys(m)), nil
}
