package sidecar

import (
	"strings"
	"testing"
	"time"
)

func TestParseFlagsWinOverEnvironment(t *testing.T) {
	env := map[string]string{
		"TINYFORGE_LISTEN":  ":1111",
		"TINYFORGE_NETWORK": "from-env",
		"TINYFORGE_DRAIN":   "7s",
		"TINYFORGE_LABELS":  "team=a,tier=web",
	}
	c, err := Parse([]string{"--network", "from-flag"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":1111" || c.Network != "from-flag" || c.Drain != 7*time.Second || c.RedisURL != "redis://127.0.0.1:6379/0" {
		t.Fatalf("config = %+v", c)
	}
	if c.Labels["team"] != "a" || c.Labels["tier"] != "web" {
		t.Fatalf("labels = %v", c.Labels)
	}
}

func TestParseRefusesBadSettings(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"proxy":        {args: []string{"--proxy", "haproxy"}, want: `--proxy "haproxy"`},
		"env duration": {env: map[string]string{"TINYFORGE_DRAIN": "soon"}, want: "TINYFORGE_DRAIN"},
		"flag":         {args: []string{"--drain", "soon"}, want: "invalid value"},
		"labels":       {args: []string{"--labels", "novalue"}, want: `"novalue": want key=value`},
		"own labels":   {args: []string{"--labels", "tinyforge.managed=true"}, want: "tinyforge.* labels are the sidecar's own"},
		"extra arg":    {args: []string{"now"}, want: `unexpected argument "now"`},
		"interval":     {args: []string{"--reconcile-interval", "0s"}, want: "--reconcile-interval"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(c.args, func(k string) string { return c.env[k] })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}
