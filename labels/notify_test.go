package labels

import (
	"reflect"
	"testing"
)

func TestNotifyTargets(t *testing.T) {
	for _, tt := range []struct {
		label string
		want  []string
		muted bool
	}{
		{"", nil, false},
		{"ops", []string{"ops"}, false},
		{" ops , dev,ops,", []string{"ops", "dev"}, false},
		{"none", nil, true},
		{" none ", nil, true},
	} {
		ws, errs := Workloads(map[string]string{"tinyforge.workloads.x.image": "r/x", "tinyforge.workloads.x.notify": tt.label})
		if len(errs) > 0 {
			t.Fatalf("notify=%q: %v", tt.label, errs)
		}
		w := ws["x"]
		if got := w.NotifyTargets(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("notify=%q: targets %q, want %q", tt.label, got, tt.want)
		}
		if w.NotifyMuted() != tt.muted {
			t.Errorf("notify=%q: muted %v, want %v", tt.label, w.NotifyMuted(), tt.muted)
		}
	}
}
