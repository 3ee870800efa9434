package deployer

import (
	"errors"
	"testing"
)

func TestRollbackToAndChoices(t *testing.T) {
	history := []Event{ // newest first
		{Deploy: "d5", Outcome: OutcomeDeployed, Image: "r/web:v3", Tag: "v3", Digest: "sha256:c"},
		{Deploy: "d4", Outcome: "failed: unhealthy", Image: "r/web:v4", Tag: "v4", Digest: "sha256:d"},
		{Deploy: "d3", Outcome: OutcomeDeployed, Image: "r/web:v2", Digest: "sha256:b"}, // no Tag recorded
		{Deploy: "d2", Outcome: OutcomeDeployed, Image: "r/web:v1", Tag: "v1", Digest: "sha256:a"},
		{Deploy: "d1", Outcome: OutcomeDeployed, Image: "r/web:v1", Tag: "v1", Digest: "sha256:a"},
	}
	cases := []struct {
		to, want, err string
	}{
		{"", "d3", ""},
		{"sha256:a", "d2", ""},
		{"v2", "d3", ""},
		{"v1", "d2", ""},
		{"v3", "", "rollback target: v3 already serves (sha256:c)"},
		{"sha256:c", "", "rollback target: sha256:c already serves (sha256:c)"},
		{"v4", "", "rollback target: no successful deploy of tag v4 in the workload's history"},
		{"sha256:d", "", "rollback target: no successful deploy of digest sha256:d in the workload's history"},
	}
	for _, c := range cases {
		ev, err := RollbackTo(history, "sha256:c", c.to)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err || !errors.Is(err, ErrRollbackTarget)):
			t.Errorf("to %q: error %v, want %q", c.to, err, c.err)
		case c.err == "" && (err != nil || ev.Deploy != c.want):
			t.Errorf("to %q: %s %v, want %s", c.to, ev.Deploy, err, c.want)
		}
	}
	if _, err := RollbackTo(history[:1], "sha256:c", ""); !errors.Is(err, ErrNoRollback) {
		t.Errorf("nothing earlier: %v, want ErrNoRollback", err)
	}
	choices := RollbackChoices(history, "sha256:c")
	if len(choices) != 2 || choices[0].Deploy != "d3" || choices[1].Deploy != "d2" {
		t.Errorf("choices %+v, want d3 then d2", choices)
	}
}
