package metrics

import (
	"flag"
	"testing"
)

// flagSet adapts a plain flag.FlagSet to Flags, as the sidecar's will.
type flagSet struct{ *flag.FlagSet }

func (f flagSet) Secret(p *string, name, def, usage string) { f.StringVar(p, name, def, usage) }

func TestRegisterFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(flagSet{fs})
	if err := fs.Parse([]string{"--metrics-token", "t0k"}); err != nil || c.Token != "t0k" {
		t.Fatalf("--metrics-token t0k: token %q, err %v", c.Token, err)
	}
}
