package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// runRelease implements -release: the release command of a deploy. It
// prints "release of <version>" and KEY=value for each variable vars
// names (comma-separated), sleeps $RELEASE_SLEEP (a duration), and exits
// $RELEASE_EXIT (default 0), saying so on stderr when not 0. Tests set
// these per image version to make a release succeed, fail or hang.
func runRelease(stdout, stderr io.Writer, getenv func(string) string, vars string) int {
	fmt.Fprintf(stdout, "release of %s\n", getenv("APP_VERSION"))
	for _, k := range strings.Split(vars, ",") {
		if k = strings.TrimSpace(k); k != "" {
			fmt.Fprintf(stdout, "%s=%s\n", k, getenv(k))
		}
	}
	if s := getenv("RELEASE_SLEEP"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			fmt.Fprintf(stderr, "RELEASE_SLEEP %q: %v\n", s, err)
			return 2
		}
		time.Sleep(d)
	}
	code := 0
	if s := getenv("RELEASE_EXIT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(stderr, "RELEASE_EXIT %q: %v\n", s, err)
			return 2
		}
		code = n
	}
	if code != 0 {
		fmt.Fprintf(stderr, "release failed: exit %d\n", code)
	} else {
		fmt.Fprintln(stdout, "release done")
	}
	return code
}

// bootDelay sleeps $BOOT_DELAY (a duration) before the server listens:
// an app that boots slowly, for the health check's start period.
func bootDelay(getenv func(string) string) error {
	s := getenv("BOOT_DELAY")
	if s == "" {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("BOOT_DELAY %q: %w", s, err)
	}
	time.Sleep(d)
	return nil
}
