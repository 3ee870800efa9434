package labelscli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/tinyforge/tinyforge/labels"
	"github.com/tinyforge/tinyforge/labelsig"
)

const signUsage = `usage: tinyforge labels sign --key-file FILE [--scope S] (--label KEY=VALUE ... | [compose.yml | - | container]...)`

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// sign prints the tinyforge.signature label of controllers, for a sidecar
// started with --controller-key-file: of every controller of compose
// files or containers (after ${VAR} substitution, as compose would start
// them), or of the labels given with --label.
func (c *Command) sign(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("tinyforge labels sign", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	keyFile := fs.String("key-file", "", "controller key file, as the sidecar's --controller-key-file ([scope:]key a line)")
	scope := fs.String("scope", "", "sign with the file's key bound to this scope (default: its unscoped key)")
	var given stringList
	fs.Var(&given, "label", "a label KEY=VALUE to sign (repeat); instead of compose files or containers")
	sources, code, ok := parseSources(fs, args)
	if !ok {
		return code
	}
	if *keyFile == "" {
		fmt.Fprintln(c.Stderr, "tinyforge labels sign: --key-file is required\n"+signUsage)
		return ExitError
	}
	keys, err := labelsig.LoadControllerKeys(*keyFile)
	if err != nil {
		fmt.Fprintf(c.Stderr, "tinyforge labels sign: %v\n", err)
		return ExitError
	}
	key, ok := keys.Key(*scope)
	if !ok {
		fmt.Fprintf(c.Stderr, "tinyforge labels sign: %s holds no key bound to scope %q\n", *keyFile, *scope)
		return ExitError
	}
	if len(given) > 0 {
		if len(sources) > 0 {
			fmt.Fprintln(c.Stderr, "tinyforge labels sign: --label and sources exclude each other\n"+signUsage)
			return ExitError
		}
		lbls := map[string]string{}
		for _, kv := range given {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				fmt.Fprintf(c.Stderr, "tinyforge labels sign: --label %q: want KEY=VALUE\n", kv)
				return ExitError
			}
			lbls[k] = v
		}
		fmt.Fprintln(c.Stdout, labelsig.SignController(key.Secret, lbls))
		return ExitOK
	}
	if sources, ok = c.orDefaultCompose(sources, "sign", "name one, - for stdin, a container, or --label"); !ok {
		return ExitError
	}
	defer c.close()
	l := c.load(ctx, sources)
	for _, p := range l.errs {
		fmt.Fprintf(c.Stderr, "tinyforge labels sign: %s\n", p.Message)
	}
	if l.unreadable || len(l.ctrls) == 0 {
		return ExitError
	}
	for _, ctrl := range l.ctrls {
		fmt.Fprintf(c.Stdout, "%s: %s=%s\n", ctrl.Source, labels.Signature, labelsig.SignController(key.Secret, ctrl.Labels))
	}
	return ExitOK
}
