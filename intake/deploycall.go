package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Deploy asks for workload to run tag ("" = its default tag) exactly as
// POST /v1/deploy {"workload", "tag"} does (same checks, same inbox, same
// records), for callers inside the sidecar such as the status page. It
// returns what the deploy API's 202 lists, or the *httpapi.Error the API
// would have answered.
func (in *Intake) Deploy(ctx context.Context, workload, tag string) (accepted, duplicate []string, err error) {
	body, err := json.Marshal(deployBody{Workload: workload, Tag: tag})
	if err != nil {
		return nil, nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/v1/deploy", bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	w := &replyWriter{header: http.Header{}}
	if err := in.deployAPI(w, r); err != nil {
		return nil, nil, err
	}
	var reply intakeReply
	if err := json.Unmarshal(w.body.Bytes(), &reply); err != nil {
		return nil, nil, fmt.Errorf("deploy %s: read the intake's reply: %w", workload, err)
	}
	if len(reply.Accepted)+len(reply.Duplicate) == 0 {
		return nil, nil, fmt.Errorf("deploy %s: nothing accepted: %s", workload, strings.Join(reply.Ignored, "; "))
	}
	return reply.Accepted, reply.Duplicate, nil
}

// replyWriter keeps the answer of an in-process call of a handler.
type replyWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *replyWriter) Header() http.Header         { return w.header }
func (w *replyWriter) WriteHeader(status int)      { w.status = status }
func (w *replyWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
