// Package labelscli is the `tinyforge labels` command: `check` reads
// controller labels from compose files (YAML) or from containers (the
// Docker API), checks them with package labels and prints the decoded
// workloads or every problem; `schema` prints the label reference.
//
// It owns reading compose files and rendering reports for people and
// scripts. What a label means and whether it is valid belongs to package
// labels, which stays free of YAML and Docker; this package never deploys
// or changes anything. It lives under cmd/ because it is a command that
// reads Docker (dockerhost) and uses the deployer's spec rules: no library
// package may import it.
package labelscli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/internal/envdefault"
	"github.com/tinyforge/tinyforge/labels"
)

// Exit statuses of `tinyforge labels check`, grep-style.
const (
	ExitOK      = 0 // every controller is valid
	ExitInvalid = 1 // a label, a conflict or a missing controller is wrong
	ExitError   = 2 // bad command line, or a source could not be read
)

// defaultDomain is the sidecar's default --domain; domainEnv is its
// environment twin, read here too so faces print as the sidecar routes them.
const (
	defaultDomain = "localhost"
	domainEnv     = "TINYFORGE_DOMAIN"
)

const usage = `usage: tinyforge labels <command>

commands:
  check [--json] [--domain D] [--sidecar URL | --live] [compose.yml | - | container]...
          decode and validate the tinyforge.* labels of controllers in
          compose files ("-" reads one from stdin; default: the compose
          file of the current directory) or of containers, by name or id.
          With --sidecar (or --live: the sidecar at TINYFORGE_URL), also ask
          the running sidecar (API token: --api-token-file,
          TINYFORGE_API_TOKEN or TINYFORGE_API_TOKEN_FILE) which faces it
          would refuse: a host another workload owns, or a reserved one.
          Exit status: 0 valid, 1 invalid, 2 could not check.
  sign --key-file FILE [--scope S] (--label K=V... | [compose.yml | - | container]...)
          print the tinyforge.signature label of each controller (or of
          the labels given) for a sidecar with --controller-key-file
  schema  print the reference of every label (LABELS.md)
`

// Command is `tinyforge labels` with its inputs and outputs.
type Command struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Containers inspects containers; nil connects to the Docker Engine
	// named by the DOCKER_* environment on first use.
	Containers ContainerInspector

	closeDocker func() error
	dockerErr   error
}

// Main runs `tinyforge labels` with args (after "labels") on the process's
// standard streams and returns the exit status.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := &Command{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	return c.Run(ctx, args)
}

// Run runs the command and returns the exit status.
func (c *Command) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, usage)
		return ExitError
	}
	switch args[0] {
	case "check":
		return c.check(ctx, args[1:])
	case "sign":
		return c.sign(ctx, args[1:])
	case "schema":
		if len(args) > 1 {
			fmt.Fprintf(c.Stderr, "tinyforge labels schema: unexpected argument %q\n", args[1])
			return ExitError
		}
		if err := labels.WriteSchema(c.Stdout); err != nil {
			fmt.Fprintf(c.Stderr, "tinyforge labels schema: %v\n", err)
			return ExitError
		}
		return ExitOK
	case "-h", "--help", "help":
		fmt.Fprint(c.Stdout, usage)
		return ExitOK
	default:
		fmt.Fprintf(c.Stderr, "tinyforge labels: unknown command %q\n\n%s", args[0], usage)
		return ExitError
	}
}

func (c *Command) check(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("tinyforge labels check", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	domain := defaultDomain
	if c.Getenv != nil && c.Getenv(domainEnv) != "" {
		domain = c.Getenv(domainEnv)
	}
	fs.StringVar(&domain, "domain", domain, "the sidecar's --domain, for faces without one (env "+domainEnv+"; with --sidecar: the sidecar's)")
	sidecar := &live{getenv: c.Getenv}
	fs.StringVar(&sidecar.url, "sidecar", "", "base URL of a running sidecar: report the faces whose host it would refuse")
	atEnv := fs.Bool("live", false, "like --sidecar, at "+envdefault.EnvName("url")+" (default "+envdefault.APIURL+")")
	fs.StringVar(&sidecar.tokenFile, "api-token-file", "", "with --sidecar: file holding the API token (default: env "+envdefault.EnvName("api-token")+", then "+envdefault.EnvName("api-token")+"_FILE)")
	sources, code, ok := parseSources(fs, args)
	if !ok {
		return code
	}
	if sources, ok = c.orDefaultCompose(sources, "check", "name a compose file, - for stdin, or a container"); !ok {
		return ExitError
	}
	defer c.close()

	if *atEnv && sidecar.url == "" {
		sidecar.url = envdefault.Lookup(c.getenv, "url", envdefault.APIURL)
	}
	var table *deployer.HostTable
	if sidecar.url != "" {
		t, err := sidecar.hosts(ctx)
		if err != nil {
			fmt.Fprintf(c.Stderr, "tinyforge labels check: %v\n", err)
			return ExitError
		}
		table = &t
		if !domainSet(fs) && c.getenv(domainEnv) == "" && t.Domain != "" {
			domain = t.Domain
		}
	}

	l := c.load(ctx, sources)
	r := Check(l.ctrls, domain)
	if table != nil {
		hostProblems(r, l.ctrls, *table, sidecar.url)
	}
	r.Errors = append(l.errs, r.Errors...)
	r.Warnings = append(l.warns, r.Warnings...)
	r.Unreadable = l.unreadable

	var err error
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(r)
	} else {
		err = writeText(c.Stdout, r, domain)
	}
	switch {
	case err != nil:
		fmt.Fprintf(c.Stderr, "tinyforge labels check: write report: %v\n", err)
		return ExitError
	case r.Unreadable:
		return ExitError
	case r.Failed():
		return ExitInvalid
	}
	return ExitOK
}

// getenv is Getenv, or an empty environment.
func (c *Command) getenv(k string) string {
	if c.Getenv == nil {
		return ""
	}
	return c.Getenv(k)
}

// domainSet reports whether --domain was given on the command line.
func domainSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "domain" })
	return set
}
