package sidecar

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/internal/httpapi"
)

// rollbackTarget is the optional body of POST
// /v1/workloads/{name}/rollback: at most one of a digest and a tag.
type rollbackTarget struct {
	Digest string `json:"digest"`
	Tag    string `json:"tag"`
}

// rollbackBody reads the rollback's target: "" (no body, or {}) for the
// previous good image, else the digest or tag named, checked for form.
func rollbackBody(w http.ResponseWriter, r *http.Request) (string, error) {
	body, err := httpapi.ReadBody(w, r)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return "", err
	}
	var t rollbackTarget
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return "", httpapi.Errorf(http.StatusBadRequest, "decode rollback target: "+err.Error())
	}
	if dec.More() {
		return "", httpapi.Errorf(http.StatusBadRequest, "decode rollback target: data after the JSON object")
	}
	switch {
	case t.Digest != "" && t.Tag != "":
		return "", httpapi.Errorf(http.StatusBadRequest, `give "digest" or "tag", not both`)
	case t.Digest != "":
		if !imageref.ValidDigest(t.Digest) {
			return "", httpapi.Errorf(http.StatusBadRequest, "digest "+strconv.Quote(t.Digest)+" is not a content digest (sha256: and 64 lower-case hex digits)")
		}
		return t.Digest, nil
	case t.Tag != "":
		if !imageref.ValidTag(t.Tag) {
			return "", httpapi.Errorf(http.StatusBadRequest, "tag "+strconv.Quote(t.Tag)+" is not a valid Docker tag")
		}
		return t.Tag, nil
	}
	return "", nil
}
