package admin

import (
	"context"
	"flag"
	"fmt"
	"strings"
)

// secretsRotate re-seals every secret under the current key.
func secretsRotate(ctx context.Context, io IO, args []string) error {
	fs := flag.NewFlagSet("secrets rotate", flag.ContinueOnError)
	var c conn
	c.flags(fs, io.Getenv)
	pos, err := parse(fs, args, io.Stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "tinyforge secrets rotate"); err != nil {
		return err
	}
	v, st, err := c.vault(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := v.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Stdout, "re-sealed %d, already current %d, failed %d (key %s)\n",
		rep.Resealed, rep.Unchanged, len(rep.Failed), v.Keys.KeyIDs()[0])
	if len(rep.Failed) > 0 {
		return fmt.Errorf("left unchanged because no configured key opens them:\n  %s", strings.Join(rep.Failed, "\n  "))
	}
	return nil
}
