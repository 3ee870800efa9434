package intake

import (
	"net/http"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/webhook"
)

// OutcomeUnauthorized is the outcome Observer.WebhookDelivery is told of a
// delivery or deploy-API call whose secret was missing or wrong (history
// records it as rejected, with the 401).
const OutcomeUnauthorized = "unauthorized"

// Observer is told what became of what intake takes in: the composition
// root hangs metrics and notifications here. Its methods are called on
// the request's goroutine and must return at once.
type Observer interface {
	// WebhookDelivery is told the outcome of one delivery (or deploy-API
	// call) from source: accepted or duplicate per workload a push goes
	// to, ignored per reason recorded, rejected, unauthorized.
	WebhookDelivery(source, outcome string)
	// RequestFinished is told the history record of a request that ended
	// before the deployer (see RecordOutcome): a tag the registry does not
	// have ("failed: ...") or a digest already serving ("duplicate: ...").
	RequestFinished(workload string, ev deployer.Event)
}

// nobody is the Observer of an intake given none.
type nobody struct{}

func (nobody) WebhookDelivery(string, string)         {}
func (nobody) RequestFinished(string, deployer.Event) {}

// refused tells the observer of a refusal, by its status.
func (in *Intake) refused(source string, status int) {
	outcome := OutcomeRejected
	if status == http.StatusUnauthorized {
		outcome = OutcomeUnauthorized
	}
	in.cfg.Observer.WebhookDelivery(source, outcome)
}

// checkAPIToken is the deploy API's bearer check, counting a failure as
// an unauthorized delivery of source api.
func (in *Intake) checkAPIToken(header, token string) bool {
	if webhook.CheckBearer(header, token) {
		return true
	}
	in.refused(SourceAPI, http.StatusUnauthorized)
	return false
}
