package dnsrec

import "time"

// State is where one name's records stand, as GET /v1/workloads shows it.
type State string

const (
	StateOK       State = "ok"           // records present, owned and confirmed
	StateRemoved  State = "removed"      // owned records deleted (or none were there)
	StateConflict State = "conflict"     // the name holds records tinyforge does not own
	StateDrift    State = "drift"        // owned, but not what it should be (Verify; Ensure repairs)
	StateFailed   State = "error"        // the server or API failed; retried later
	StateWildcard State = "wildcard"     // the zone's *.domain answers; nothing managed
	StateDisabled State = "disabled"     // --dns-provider none
	StateOutside  State = "outside-zone" // the name is not in --dns-zone; nothing managed
	StatePending  State = "pending"      // known, not checked yet
)

// Status is the outcome of one Ensure or Remove for one name.
type Status struct {
	FQDN    string    `json:"fqdn"`
	State   State     `json:"state"`
	Changed bool      `json:"changed"`           // this call changed the zone
	Records []string  `json:"records,omitempty"` // what the zone holds now, "A 203.0.113.7"
	Error   string    `json:"error,omitempty"`
	Checked time.Time `json:"checked"`
}
