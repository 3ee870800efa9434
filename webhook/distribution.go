package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
)

// Content types of CNCF distribution notifications.
const (
	// DistributionEventsV1 is sent by distribution (registry) 2.x.
	DistributionEventsV1 = "application/vnd.docker.distribution.events.v1+json"
	// DistributionEventsV2 is sent by distribution 3.x.
	DistributionEventsV2 = "application/vnd.docker.distribution.events.v2+json"
)

// ErrContentType is returned (wrapped) for a delivery whose content type is
// not one ParseDistribution reads; an HTTP handler maps it to 415.
var ErrContentType = errors.New("unsupported content type")

// manifestTypes are the media types of pushes that can be deployed. Blob
// and layer pushes, and the deprecated schema1 manifests, are left out.
var manifestTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
}

// distributionEnvelope is the body of a notification; fields tinyforge
// does not use are left out.
type distributionEnvelope struct {
	Events *[]distributionEvent `json:"events"`
}

type distributionEvent struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Action    string `json:"action"`
	Target    struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// ParseDistribution reads a CNCF distribution notification (registry 2.x
// and 3.x, and the registries built on it) and returns its tagged manifest
// pushes in delivery order; a push whose tag or digest breaks the grammar
// fails the whole delivery, naming the field. Everything else is skipped: pulls, deletes,
// blob pushes (one per layer), and untagged manifests (the per-platform
// manifests of a multi-arch push). A body with no such event yields no
// pushes and no error.
func ParseDistribution(contentType string, body []byte) ([]Push, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w %q: %v", ErrContentType, contentType, err)
	case mediaType != DistributionEventsV1 && mediaType != DistributionEventsV2 && mediaType != "application/json":
		return nil, fmt.Errorf("%w %q (want %s, %s or application/json)", ErrContentType, contentType, DistributionEventsV1, DistributionEventsV2)
	}

	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, errors.New("decode distribution events: empty body")
	}
	var env distributionEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode distribution events: %w", err)
	}
	if env.Events == nil {
		return nil, errors.New(`decode distribution events: no "events" array in the body`)
	}

	var pushes []Push
	for i, ev := range *env.Events {
		t := ev.Target
		if ev.Action != "push" || t.Tag == "" || t.Repository == "" || !manifestTypes[normalizeMediaType(t.MediaType)] {
			continue
		}
		if err := checkTag("distribution events", fmt.Sprintf("events[%d].target.tag", i), t.Tag); err != nil {
			return nil, err
		}
		if err := checkDigest("distribution events", fmt.Sprintf("events[%d].target.digest", i), t.Digest); err != nil {
			return nil, err
		}
		pushes = append(pushes, Push{
			Registry:   ev.Request.Host,
			Repository: t.Repository,
			Tag:        t.Tag,
			Digest:     t.Digest,
			MediaType:  normalizeMediaType(t.MediaType),
			EventID:    ev.ID,
			Time:       parseTime(ev.Timestamp),
		})
	}
	return pushes, nil
}

// parseTime reads an RFC 3339 time; anything else is the zero time, which
// means "unknown" rather than a reason to refuse the delivery.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// normalizeMediaType drops parameters and case from a media type.
func normalizeMediaType(s string) string {
	s, _, _ = strings.Cut(s, ";")
	return strings.ToLower(strings.TrimSpace(s))
}
