package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
)

// ErrIgnored is returned, wrapped with the reason, for an authentic and
// well-formed delivery that can never deploy: a ping, a pull, a deletion,
// a package that is not a container, an untagged (digest-only) version.
// An HTTP handler answers it with 2xx, so the sender does not retry.
var ErrIgnored = errors.New("ignored")

func ignored(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrIgnored, fmt.Sprintf(format, args...))
}

// The content types the parsers read, besides the +json family.
const (
	mediaJSON = "application/json"
	mediaForm = "application/x-www-form-urlencoded"
)

// jsonPayload returns the JSON document of a GitHub, Gitea or Forgejo
// delivery, the senders that offer both content types: the body itself,
// or the "payload" field of a form-encoded body. A missing content type
// is taken as JSON.
func jsonPayload(what, contentType string, body []byte) ([]byte, error) {
	mt, err := mediaType(contentType)
	if err != nil {
		return nil, err
	}
	switch {
	case mt == mediaForm:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("decode %s: form body: %w", what, err)
		}
		if !form.Has("payload") {
			return nil, fmt.Errorf(`decode %s: form body has no "payload" field`, what)
		}
		return []byte(form.Get("payload")), nil
	case isJSON(mt):
		return body, nil
	}
	return nil, fmt.Errorf("%w %q (want %s or %s)", ErrContentType, contentType, mediaJSON, mediaForm)
}

// jsonBody returns the body of a delivery from a sender that only sends
// JSON (Harbor: application/json, or application/cloudevents+json).
func jsonBody(contentType string, body []byte) ([]byte, error) {
	mt, err := mediaType(contentType)
	if err != nil {
		return nil, err
	}
	if !isJSON(mt) {
		return nil, fmt.Errorf("%w %q (want %s or %s)", ErrContentType, contentType, mediaJSON, CloudEventsJSON)
	}
	return body, nil
}

// mediaType is the media type of a Content-Type header, application/json
// when the header is missing.
func mediaType(contentType string) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		return mediaJSON, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrContentType, contentType, err)
	}
	return mt, nil
}

func isJSON(mediaType string) bool {
	return mediaType == mediaJSON || strings.HasSuffix(mediaType, "+json")
}

// decodeJSON unmarshals a non-empty JSON object into v, naming what in
// every error.
func decodeJSON(what string, body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return fmt.Errorf("decode %s: empty body", what)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}
