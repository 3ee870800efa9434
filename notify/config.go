package notify

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// None as --notify-default sends nothing for workloads that name no
// target.
const None = "none"

// Flags is what RegisterFlags needs from the sidecar's flag set, which
// gives every flag its TINYFORGE_* environment twin (for Var: Set is
// called with the environment's value).
type Flags interface {
	String(p *string, name, def, usage string)
	Duration(p *time.Duration, name string, def time.Duration, usage string)
	Var(v flag.Value, name, usage string)
}

// Config is the notification settings of the sidecar.
type Config struct {
	// Targets are "NAME=URL" entries, each a shoutrrr URL (ntfy://...,
	// slack://..., generic+https://...). URLs carry credentials.
	Targets []string
	// File names a file of more entries, one per line ('#' comments).
	File string
	// Default lists, comma-separated, the targets of workloads that name
	// none; empty means every target, "none" means no message.
	Default string
	// Window is how long a target collects events before sending: several
	// events within it make one summary message.
	Window time.Duration
}

// RegisterFlags declares the notification flags into c.
func (c *Config) RegisterFlags(f Flags) {
	f.Var((*entries)(&c.Targets), "notify", "notification target NAME=URL (shoutrrr URL: ntfy://, slack://, generic+https://, smtp://, ...); repeatable, the environment twin takes several separated by spaces or newlines; URLs are secrets and never logged")
	f.String(&c.File, "notify-file", "", "file of notification targets, one NAME=URL per line (for Docker/compose secrets)")
	f.String(&c.Default, "notify-default", "", "comma-separated targets of workloads whose tinyforge.workloads.<w>.notify label names none (unset: every target; none: no message)")
	f.Duration(&c.Window, "notify-window", 5*time.Second, "events for one target within this window are sent as one summary message")
}

// entries is a repeatable flag of NAME=URL entries. Its String is always
// empty: a usage text must not print a URL taken from the environment.
type entries []string

func (e *entries) String() string { return "" }

// Set adds every whitespace-separated entry of s (URLs hold no raw
// whitespace), so one environment variable can hold several.
func (e *entries) Set(s string) error {
	*e = append(*e, strings.Fields(s)...)
	return nil
}

// entries returns every NAME=URL entry of c: the flags', then the file's.
func (c Config) entries() ([]string, error) {
	all := append([]string(nil), c.Targets...)
	if c.File == "" {
		return all, nil
	}
	f, err := os.Open(c.File)
	if err != nil {
		return nil, fmt.Errorf("--notify-file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		all = append(all, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--notify-file %s: %w", c.File, err)
	}
	return all, nil
}

// targets parses and builds every target of c, and the default list.
// Errors say which entry (by position or name) was wrong, never its URL.
func (c Config) targets() (map[string]*target, []string, error) {
	list, err := c.entries()
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]*target{}
	var names []string
	for i, entry := range list {
		name, rawURL, err := parseEntry(entry)
		if err != nil {
			return nil, nil, fmt.Errorf("--notify entry %d: %w", i+1, err)
		}
		if byName[name] != nil {
			return nil, nil, fmt.Errorf("--notify: target %q is given twice", name)
		}
		t, err := newTarget(name, rawURL)
		if err != nil {
			return nil, nil, err
		}
		byName[name] = t
		names = append(names, name)
	}
	switch d := strings.TrimSpace(c.Default); d {
	case "":
		return byName, names, nil
	case None:
		return byName, nil, nil
	default:
		var defaults []string
		for _, n := range strings.Split(d, ",") {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			if byName[n] == nil {
				return nil, nil, fmt.Errorf("--notify-default: no target named %q (give it with --notify %s=URL)", n, n)
			}
			defaults = append(defaults, n)
		}
		return byName, defaults, nil
	}
}
