package labelscli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/tinyforge/tinyforge/deployer"
	"github.com/tinyforge/tinyforge/dockerhost"
	"github.com/tinyforge/tinyforge/labels"
)

// ContainerInspector reads one container by name or id; *dockerhost.Host
// is one.
type ContainerInspector interface {
	Inspect(ctx context.Context, nameOrID string) (deployer.Container, error)
}

var _ ContainerInspector = (*dockerhost.Host)(nil)

// composeNames are the files `docker compose` looks for, in its order,
// when no argument names one.
var composeNames = []string{"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}

// inspectTimeout bounds one container inspection, connecting included.
const inspectTimeout = 30 * time.Second

// loaded is what the sources named on the command line hold.
type loaded struct {
	getenv     func(string) string // for ${VAR} in compose files
	ctrls      []Controller
	errs       []Problem // problems of the sources themselves
	warns      []Problem
	unreadable bool
}

func (l *loaded) fail(source string, err error) {
	l.errs = append(l.errs, Problem{Source: source, Message: err.Error()})
	l.unreadable = true
}

// load reads every argument: "-" is a compose file on stdin, an existing
// path is a compose file, anything else a container name or id.
func (c *Command) load(ctx context.Context, args []string) *loaded {
	l := &loaded{getenv: c.Getenv}
	for _, arg := range args {
		switch fi, err := os.Stat(arg); {
		case arg == "-":
			data, err := io.ReadAll(c.Stdin)
			if err != nil {
				l.fail("stdin", fmt.Errorf("read stdin: %w", err))
				continue
			}
			l.compose("stdin", data)
		case err == nil && fi.IsDir():
			l.fail(arg, fmt.Errorf("%s is a directory: name the compose file in it", arg))
		case err == nil:
			data, err := os.ReadFile(arg)
			if err != nil {
				l.fail(arg, err)
				continue
			}
			l.compose(arg, data)
		case looksLikePath(arg):
			// Docker names have no '/', and a missing compose.yml is more
			// likely a typo than a container of that name.
			l.fail(arg, fmt.Errorf("read compose file: %w", err))
		default:
			c.container(ctx, l, arg)
		}
	}
	return l
}

// looksLikePath tells a file name from a container name or id.
func looksLikePath(arg string) bool {
	ext := strings.ToLower(filepath.Ext(arg))
	return strings.ContainsRune(arg, filepath.Separator) || strings.ContainsRune(arg, '/') || ext == ".yml" || ext == ".yaml"
}

// parseSources parses the flags of fs in args and returns the sources
// (compose files, - for stdin, containers) among them: flags may follow
// the sources, so it parses, takes one source and parses again. When
// parsing stops (-h, a bad flag; fs has said why) ok is false and code is
// the exit status.
func parseSources(fs *flag.FlagSet, args []string) (sources []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, ExitOK, false
			}
			return nil, ExitError, false
		}
		if fs.NArg() == 0 {
			return sources, ExitOK, true
		}
		sources = append(sources, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// orDefaultCompose returns sources or, when none is named, the compose
// file of the current directory. Without one it tells Stderr (for
// `tinyforge labels <cmd>`, with hint on what to name instead) and
// returns false.
func (c *Command) orDefaultCompose(sources []string, cmd, hint string) ([]string, bool) {
	if len(sources) > 0 {
		return sources, true
	}
	file, ok := defaultComposeFile()
	if !ok {
		fmt.Fprintf(c.Stderr, "tinyforge labels %s: no compose file here (%s): %s\n", cmd, composeNames, hint)
		return nil, false
	}
	return []string{file}, true
}

// close closes the Docker client a container source opened, if any.
func (c *Command) close() {
	if c.closeDocker != nil {
		_ = c.closeDocker()
	}
}

// defaultComposeFile is the compose file of the current directory, as
// docker compose picks it.
func defaultComposeFile() (string, bool) {
	for _, name := range composeNames {
		if fi, err := os.Stat(name); err == nil && !fi.IsDir() {
			return name, true
		}
	}
	return "", false
}

func (l *loaded) compose(file string, data []byte) {
	services, err := ParseCompose(file, data)
	if err != nil {
		l.errs = append(l.errs, Problem{Source: file, File: file, Message: err.Error()})
		l.unreadable = true
		return
	}
	l.interpolate(file, services)
	ctrls, errs, warns := composeControllers(file, services)
	l.ctrls = append(l.ctrls, ctrls...)
	l.errs = append(l.errs, errs...)
	l.warns = append(l.warns, warns...)
}

// interpolate substitutes ${VAR} in every label value as compose would,
// from the environment of this command (so `labels check compose.yml`
// checks what `docker compose up` would start); a malformed or required
// variable is a problem of its label, an unset one a warning.
func (l *loaded) interpolate(file string, services []Service) {
	lookup := func(k string) (string, bool) {
		if l.getenv == nil {
			return "", false
		}
		v := l.getenv(k)
		return v, v != ""
	}
	for i := range services {
		s := &services[i]
		for _, key := range slices.Sorted(maps.Keys(s.Labels)) {
			v, unset, err := interpolate(s.Labels[key], lookup)
			if err != nil {
				s.Problems = append(s.Problems, Problem{Line: s.Lines[key], Message: key + ": " + err.Error()})
				continue
			}
			for _, name := range unset {
				l.warns = append(l.warns, Problem{Source: file + ", service " + s.Name, File: file, Line: s.Lines[key],
					Message: fmt.Sprintf("%s:%d: %s: the variable %s is not set: compose substitutes an empty string", file, s.Lines[key], key, name)})
			}
			s.Labels[key] = v
		}
	}
}

// composeControllers picks the controllers among the services of a
// compose file: those labelled exactly tinyforge.enable=true, the label
// the sidecar's Docker filter matches. A service with other tinyforge.*
// labels is most likely a controller missing that label: a warning.
func composeControllers(file string, services []Service) (ctrls []Controller, errs, warns []Problem) {
	for _, s := range services {
		source := file + ", service " + s.Name
		if s.Labels[labels.Enable] != "true" {
			if reason := notController(s.Labels); reason != "" {
				warns = append(warns, Problem{Source: source, File: file, Line: s.Line,
					Message: source + " " + reason + ", so the sidecar ignores it"})
			}
			continue
		}
		problems := make([]Problem, len(s.Problems))
		for i, p := range s.Problems {
			p.Source, p.File = source, file
			problems[i] = p
		}
		ctrls = append(ctrls, Controller{Source: source, File: file, Line: s.Line, Lines: s.Lines, Labels: s.Labels, Problems: problems})
	}
	if len(ctrls) == 0 {
		msg := file + ": no controller: no service is labelled " + labels.Enable + "=true"
		if len(services) == 0 {
			msg = file + ": no controller: the file declares no services"
		}
		errs = append(errs, Problem{Source: file, File: file, Message: msg})
	}
	return ctrls, errs, warns
}

// notController explains why a container with tinyforge.* labels is not a
// controller; "" when it has none (an ordinary service).
func notController(ls map[string]string) string {
	if v, ok := ls[labels.Enable]; ok {
		return fmt.Sprintf("has %s=%q, not \"true\" (the sidecar matches the exact value)", labels.Enable, v)
	}
	for k := range ls {
		if len(k) > len(labels.Root) && strings.EqualFold(k[:len(labels.Root)+1], labels.Root+".") {
			return "has tinyforge.* labels but no " + labels.Enable + "=true"
		}
	}
	return ""
}

// container inspects a container by name or id and checks it as a
// controller.
func (c *Command) container(ctx context.Context, l *loaded, ref string) {
	source := "container " + ref
	docker, err := c.inspector()
	if err != nil {
		l.fail(source, err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	ctr, err := docker.Inspect(ctx, ref)
	switch {
	case cerrdefs.IsNotFound(err):
		l.fail(source, fmt.Errorf("%q is neither a compose file nor a container Docker knows", ref))
		return
	case err != nil:
		l.fail(source, fmt.Errorf("check %s: %w", source, err))
		return
	}
	source = "container " + ctr.Name
	if ctr.Labels[labels.Enable] != "true" {
		reason := notController(ctr.Labels)
		if reason == "" {
			reason = "has no tinyforge.* labels"
		}
		l.errs = append(l.errs, Problem{Source: source, Message: source + " is not a tinyforge controller: it " + reason})
		return
	}
	if !ctr.Running {
		l.warns = append(l.warns, Problem{Source: source,
			Message: fmt.Sprintf("%s is %s: the sidecar reads only running controllers", source, ctr.State)})
	}
	l.ctrls = append(l.ctrls, Controller{Source: source, Labels: ctr.Labels})
}

// inspector returns the Docker connection, opening it on first use.
func (c *Command) inspector() (ContainerInspector, error) {
	if c.Containers != nil {
		return c.Containers, nil
	}
	if c.dockerErr != nil {
		return nil, c.dockerErr
	}
	h, err := dockerhost.FromEnv()
	if err != nil {
		c.dockerErr = fmt.Errorf("connect to Docker: %w", err)
		return nil, c.dockerErr
	}
	c.Containers, c.closeDocker = h, h.Close
	return h, nil
}
