package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"time"

	"github.com/tinyforge/tinyforge/imageref"
)

// Harbor event types of an artifact push, in the default and the
// CloudEvents payload formats.
const (
	HarborPushArtifact     = "PUSH_ARTIFACT"
	HarborCloudEventPushed = "harbor.artifact.pushed"
	// CloudEventsJSON is the content type of a structured CloudEvent.
	CloudEventsJSON = "application/cloudevents+json"
)

type harborEventData struct {
	Resources []struct {
		Digest      string `json:"digest"`
		Tag         string `json:"tag"`
		ResourceURL string `json:"resource_url"`
	} `json:"resources"`
	Repository struct {
		Name         string `json:"name"`
		Namespace    string `json:"namespace"`
		RepoFullName string `json:"repo_full_name"`
	} `json:"repository"`
}

type harborDefault struct {
	Type      string           `json:"type"`
	OccurAt   int64            `json:"occur_at"`
	EventData *harborEventData `json:"event_data"`
}

type harborCloudEvent struct {
	SpecVersion string           `json:"specversion"`
	ID          string           `json:"id"`
	Type        string           `json:"type"`
	Time        string           `json:"time"`
	Data        *harborEventData `json:"data"`
}

// ParseHarbor reads a Harbor webhook in either payload format: the default
// one ({"type":"PUSH_ARTIFACT","event_data":...}) or CloudEvents
// ({"specversion":"1.0","type":"harbor.artifact.pushed","data":...}, sent
// as application/cloudevents+json). It returns one push per tagged
// resource; other event types are ErrIgnored. The default format carries
// no event id, so the hash of the body stands in for one: Harbor's
// retries resend the same bytes.
func ParseHarbor(contentType string, body []byte) ([]Push, error) {
	payload, err := jsonBody(contentType, body)
	if err != nil {
		return nil, err
	}
	var probe struct {
		SpecVersion *string `json:"specversion"`
	}
	if err := decodeJSON("harbor event", payload, &probe); err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if probe.SpecVersion != nil || mt == CloudEventsJSON {
		var ce harborCloudEvent
		if err := json.Unmarshal(payload, &ce); err != nil {
			return nil, fmt.Errorf("decode harbor cloudevent: %w", err)
		}
		if ce.Type != HarborCloudEventPushed {
			return nil, ignored("harbor event type %q", ce.Type)
		}
		if ce.Data == nil {
			return nil, fmt.Errorf(`decode harbor cloudevent: no "data" object`)
		}
		return harborPushes(ce.Data, ce.ID, parseTime(ce.Time))
	}
	var ev harborDefault
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("decode harbor event: %w", err)
	}
	if ev.Type != HarborPushArtifact {
		return nil, ignored("harbor event type %q", ev.Type)
	}
	if ev.EventData == nil {
		return nil, fmt.Errorf(`decode harbor event: no "event_data" object`)
	}
	var when time.Time
	if ev.OccurAt > 0 {
		when = time.Unix(ev.OccurAt, 0).UTC()
	}
	sum := sha256.Sum256(payload)
	return harborPushes(ev.EventData, "body-"+hex.EncodeToString(sum[:16]), when)
}

func harborPushes(d *harborEventData, id string, when time.Time) ([]Push, error) {
	repo := d.Repository.RepoFullName
	if repo == "" && d.Repository.Namespace != "" && d.Repository.Name != "" {
		repo = d.Repository.Namespace + "/" + d.Repository.Name
	}
	if repo == "" {
		return nil, fmt.Errorf("decode harbor event: no repository.repo_full_name")
	}
	var pushes []Push
	for i, r := range d.Resources {
		if r.Tag == "" || imageref.LooksLikeDigest(r.Tag) {
			continue
		}
		if err := checkTag("harbor event", fmt.Sprintf("resources[%d].tag", i), r.Tag); err != nil {
			return nil, err
		}
		if err := checkDigest("harbor event", fmt.Sprintf("resources[%d].digest", i), r.Digest); err != nil {
			return nil, err
		}
		host, _, ok := imageref.SplitHost(r.ResourceURL)
		if !ok {
			return nil, fmt.Errorf("decode harbor event: resource_url %q does not name the registry host", r.ResourceURL)
		}
		pushes = append(pushes, Push{
			Registry:   host,
			Repository: repo,
			Tag:        r.Tag,
			Digest:     r.Digest,
			EventID:    id,
			Time:       when,
		})
	}
	if len(pushes) == 0 {
		return nil, ignored("no tagged artifact in the harbor event")
	}
	return pushes, nil
}
