package dnsrec

import (
	"fmt"
	"strings"
)

// Heritage marks a TXT record as written by tinyforge, as external-dns's
// "heritage=external-dns" does for its registry.
const Heritage = "tinyforge"

// Owner names who may change a name's records: the sidecar (a name that
// must survive restarts, e.g. its scope) and the workload whose face it
// serves. It is written as a TXT record beside the addresses.
type Owner struct {
	Instance string
	Workload string
}

// TXT is the ownership record's value:
// heritage=tinyforge,tinyforge/owner=<instance>,tinyforge/workload=<workload>.
func (o Owner) TXT() string {
	return "heritage=" + Heritage + "," + Heritage + "/owner=" + o.Instance + "," + Heritage + "/workload=" + o.Workload
}

// Validate rejects owners whose TXT value could not be parsed back: empty
// parts, separators, quotes, spaces or control characters, or a value over
// the 255 bytes of one TXT string.
func (o Owner) Validate() error {
	for _, part := range []struct{ name, v string }{{"instance", o.Instance}, {"workload", o.Workload}} {
		if part.v == "" {
			return fmt.Errorf("%w: owner %s is empty", ErrInvalid, part.name)
		}
		if i := strings.IndexFunc(part.v, func(r rune) bool {
			return r <= ' ' || r == 0x7f || r == ',' || r == '=' || r == '"' || r == '\\'
		}); i >= 0 {
			return fmt.Errorf("%w: owner %s %q: character %q not allowed", ErrInvalid, part.name, part.v, part.v[i])
		}
	}
	if n := len(o.TXT()); n > 255 {
		return fmt.Errorf("%w: owner record is %d bytes, over the 255 of a TXT string", ErrInvalid, n)
	}
	return nil
}

// ParseOwner reads a TXT value written by Owner.TXT. ok is false for any
// TXT record tinyforge did not write (an SPF record, a site verification).
func ParseOwner(txt string) (o Owner, ok bool) {
	fields := map[string]string{}
	for _, kv := range strings.Split(txt, ",") {
		k, v, found := strings.Cut(kv, "=")
		if !found {
			return Owner{}, false
		}
		fields[k] = v
	}
	if fields["heritage"] != Heritage {
		return Owner{}, false
	}
	o = Owner{Instance: fields[Heritage+"/owner"], Workload: fields[Heritage+"/workload"]}
	return o, true
}
