package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tinyforge/tinyforge/imageref"
	"github.com/tinyforge/tinyforge/internal/httpapi"
	"github.com/tinyforge/tinyforge/webhook"
)

// deployBody is the body of POST /v1/deploy: a workload or an image, and
// a tag (empty: the workload's default tag).
type deployBody struct {
	Workload string `json:"workload"`
	Image    string `json:"image"`
	Tag      string `json:"tag"`
}

// deployAPI lets CI systems and people ask for a deploy: {workload, tag}
// deploys that workload (its tags filter and tag policy do not apply: the
// caller chose it; without a tag under a semver policy and no defaultTag,
// the newest tag the policy allows deploys), {image, tag} deploys every workload using the image whose tags
// filter allows the tag, exactly as a push would. The request goes
// through the same inbox as webhooks; an Idempotency-Key header makes a
// retried request count once.
func (in *Intake) deployAPI(w http.ResponseWriter, r *http.Request) error {
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return err
	}
	var req deployBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return in.reject(r, SourceAPI, http.StatusBadRequest, "decode deploy request: "+err.Error())
	}
	if dec.More() {
		return in.reject(r, SourceAPI, http.StatusBadRequest, "decode deploy request: data after the JSON object")
	}
	if (req.Workload == "") == (req.Image == "") {
		return in.reject(r, SourceAPI, http.StatusBadRequest, `give either "workload" or "image", with "tag"`)
	}
	if req.Tag != "" && !imageref.ValidTag(req.Tag) {
		return in.reject(r, SourceAPI, http.StatusBadRequest, fmt.Sprintf("tag %q is not a valid Docker tag", req.Tag))
	}
	delivery := r.Header.Get("Idempotency-Key")
	if req.Workload != "" {
		wl := in.declared.Workloads()[req.Workload]
		if reasons, _ := in.refusals(); wl == nil && reasons[req.Workload] != "" {
			return in.reject(r, SourceAPI, http.StatusNotFound, reasons[req.Workload])
		}
		if wl == nil {
			return in.reject(r, SourceAPI, http.StatusNotFound, fmt.Sprintf("workload %q is not declared by any controller", req.Workload))
		}
		tag := wl.ResolveTag(req.Tag)
		if req.Tag == "" && wl.DefaultTag == "" && isVersioned(wl) {
			tag = "" // the newest tag the policy allows, looked up when it runs (Admit)
		}
		push := webhook.Push{Repository: wl.Image, Tag: tag, EventID: delivery}
		return in.accept(w, r, SourceAPI, delivery, []webhook.Push{push}, wl)
	}
	repo, err := imageref.Repository(req.Image)
	if err != nil {
		return in.reject(r, SourceAPI, http.StatusBadRequest, err.Error())
	}
	if req.Tag == "" {
		return in.reject(r, SourceAPI, http.StatusBadRequest, `"tag" is required with "image"`)
	}
	found := false
	for _, wl := range in.declared.Workloads() {
		found = found || imageref.SameRepository(wl.Image, repo)
	}
	if reasons, decls := in.refusals(); !found { // accept records why each refused workload takes nothing
		found = len(in.refusedFor(repo, reasons, decls)) > 0
	}
	if !found {
		return in.reject(r, SourceAPI, http.StatusNotFound, "no workload uses image "+repo)
	}
	return in.accept(w, r, SourceAPI, delivery, []webhook.Push{{Repository: repo, Tag: req.Tag, EventID: delivery}}, nil)
}
