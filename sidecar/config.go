package sidecar

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge/intake"
	"github.com/tinyforge/tinyforge/internal/envdefault"
	"github.com/tinyforge/tinyforge/metrics"
	"github.com/tinyforge/tinyforge/notify"
	"github.com/tinyforge/tinyforge/redisstore"
)

// Config is every setting of the daemon. Each one is a flag with an
// environment twin (TINYFORGE_<FLAG>); a flag given on the command line
// wins over the environment, which wins over the default.
type Config struct {
	Listen         string
	RedisURL       string
	RedisPrefix    string
	Proxy          string
	Engine         string
	CaddyAdmin     string
	CaddyListen    string
	CaddyServer    string
	WebhookToken   string
	APIToken       string
	Network        string
	Domain         string
	UpstreamByName bool
	Labels         map[string]string
	Scope          string

	BaseVolumePath  string
	TeardownOrphans bool
	OrphanGrace     time.Duration
	Hooks           intake.HookConfig

	Drain          time.Duration
	StopGrace      time.Duration
	ReconcileEvery time.Duration
	ShutdownGrace  time.Duration
	Watch          time.Duration
	LockTTL        time.Duration
	InstanceID     string

	LogLevel  string
	LogFormat string

	Security
	Proxies ProxyConfig
	DNS     DNSConfig
	Edge    EdgeConfig
	Metrics metrics.Config
	Notify  notify.Config
}

// Parse reads the flags in args, with environment twins from getenv. It
// returns flag.ErrHelp for -h; Usage prints the flags.
func Parse(args []string, getenv func(string) string) (Config, error) {
	var c Config
	fs, e := flags(&c, getenv)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if e.err != nil {
		return c, e.err
	}
	if err := e.finish(); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.validate(); err != nil {
		return c, err
	}
	return c, c.resolveSecurity()
}

// Usage prints every flag with its default and environment twin.
func Usage(w io.Writer) {
	fs, _ := flags(&Config{}, func(string) string { return "" })
	fmt.Fprintln(w, "usage: tinyforge sidecar [flags]")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// flags defines every flag of c, with defaults from the environment.
func flags(c *Config, getenv func(string) string) (*flag.FlagSet, *envFlags) {
	fs := flag.NewFlagSet("tinyforge sidecar", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e := &envFlags{fs: fs, getenv: getenv}
	e.str(&c.Listen, "listen", envdefault.Listen, "address of the webhook and API server")
	e.secret(&c.RedisURL, "redis-url", envdefault.RedisURL, "Redis URL for state, queue and history")
	e.str(&c.RedisPrefix, "redis-prefix", redisstore.DefaultPrefix, "prefix of every Redis key the sidecar owns")
	e.str(&c.Proxy, "proxy", "caddy", "proxy plugin: caddy, traefik-kv, traefik-labels, npm or none")
	e.str(&c.Engine, "engine", EngineDocker, "docker (one host: a version is a container) or swarm (a manager: a version is a service on the --network overlay, which the sidecar's container must be attached to)")
	e.str(&c.CaddyAdmin, "caddy-admin", "http://127.0.0.1:2019", "Caddy admin API URL")
	e.str(&c.CaddyListen, "caddy-listen", ":80", "listen address(es), comma-separated, of the HTTP server the sidecar keeps in Caddy")
	e.str(&c.CaddyServer, "caddy-server", "tinyforge", "name of the sidecar's server in Caddy's config")
	e.secret(&c.WebhookToken, "webhook-token", "", "secret every webhook source uses unless it has its own")
	e.secret(&c.APIToken, "api-token", "", "bearer token of the management and deploy API (unset: API disabled)")
	e.hookFlags(&c.Hooks)
	c.Security.flags(e)
	e.str(&c.Network, "network", "tinyforge", "Docker network workload containers join")
	e.str(&c.Domain, "domain", "localhost", "default domain of faces")
	e.str(&c.Scope, "scope", "", "read only controllers labelled tinyforge.scope=<scope>, and own only containers so labelled (several sidecars per host)")
	e.labels(&c.Labels, "labels", "extra labels (k=v,k2=v2) on every container and network the sidecar creates")
	e.boolean(&c.UpstreamByName, "upstream-by-name", false, "proxy dials containers by name (proxy inside the Docker network) instead of IP")
	e.str(&c.BaseVolumePath, "base-volume-path", "", "host directory of instance, stage and project volumes (a controller's settings.baseVolumePath overrides it)")
	e.boolean(&c.TeardownOrphans, "teardown-orphans", false, "tear down workloads no controller declares any more, after --orphan-grace")
	e.duration(&c.OrphanGrace, "orphan-grace", time.Minute, "how long a workload stays undeclared before --teardown-orphans removes it")
	e.duration(&c.Drain, "drain", 2*time.Second, "time the old container keeps serving after the switch")
	e.duration(&c.StopGrace, "stop-grace", 10*time.Second, "time a stopping container gets before it is killed")
	e.duration(&c.ReconcileEvery, "reconcile-interval", 5*time.Second, "interval of the reconcile pass")
	e.duration(&c.ShutdownGrace, "shutdown-grace", 60*time.Second, "time a deploy in flight gets to finish on shutdown")
	e.duration(&c.Watch, "watch", 10*time.Second, "post-switch watch: the new container must stay up and healthy this long, or routes go back to the old one (0 disables)")
	e.duration(&c.LockTTL, "lock-ttl", 15*time.Second, "life of a deploy lock in Redis without renewal; a crashed sidecar's deploy is recovered after it")
	e.str(&c.InstanceID, "instance-id", defaultInstanceID(), "name of this sidecar in deploy locks and history (unique per sidecar sharing a Redis)")
	e.str(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	e.str(&c.LogFormat, "log-format", "auto", "console, json, or auto (console on a terminal)")
	c.Proxies.flags(e)
	c.DNS.flags(e)
	c.Edge.flags(e, c)
	c.Metrics.RegisterFlags(libFlags{e})
	c.Notify.RegisterFlags(libFlags{e})
	return fs, e
}

func (c Config) validate() error {
	if err := c.validateProxy(); err != nil {
		return err
	}
	if err := c.validateEngine(); err != nil {
		return err
	}
	if c.Network == "" {
		return fmt.Errorf("--network is required")
	}
	if c.ReconcileEvery <= 0 {
		return fmt.Errorf("--reconcile-interval must be positive, got %s", c.ReconcileEvery)
	}
	if c.LockTTL < time.Second {
		return fmt.Errorf("--lock-ttl must be at least 1s, got %s", c.LockTTL)
	}
	if c.Watch < 0 {
		return fmt.Errorf("--watch must not be negative, got %s", c.Watch)
	}
	if c.InstanceID == "" {
		return fmt.Errorf("--instance-id must not be empty")
	}
	return c.validateDNS()
}

// envFlags defines flags whose defaults come from their environment twins.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	err    error
	after  []func() error // run after parsing: secret files, cross-checks
}

func (e *envFlags) lookup(name, def string) string {
	return envdefault.Lookup(e.getenv, name, def)
}

func (e *envFlags) usage(name, usage string) string {
	return envdefault.Usage(name, usage)
}

func (e *envFlags) str(p *string, name, def, usage string) {
	e.fs.StringVar(p, name, e.lookup(name, def), e.usage(name, usage))
}

func (e *envFlags) boolean(p *bool, name string, def bool, usage string) {
	v, err := strconv.ParseBool(e.lookup(name, strconv.FormatBool(def)))
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %w", envdefault.EnvName(name), err)
	}
	e.fs.BoolVar(p, name, v, e.usage(name, usage))
}

func (e *envFlags) duration(p *time.Duration, name string, def time.Duration, usage string) {
	v, err := time.ParseDuration(e.lookup(name, def.String()))
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %w", envdefault.EnvName(name), err)
	}
	e.fs.DurationVar(p, name, v, e.usage(name, usage))
}

func (e *envFlags) integer(p *int, name string, def int, usage string) {
	v, err := strconv.Atoi(e.lookup(name, strconv.Itoa(def)))
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %w", envdefault.EnvName(name), err)
	}
	e.fs.IntVar(p, name, v, e.usage(name, usage))
}

func (e *envFlags) labels(p *map[string]string, name, usage string) {
	*p = map[string]string{}
	v := labelsValue{m: *p}
	if err := v.Set(e.lookup(name, "")); err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %w", envdefault.EnvName(name), err)
	}
	e.fs.Var(v, name, e.usage(name, usage))
}

// labelsValue parses "k=v,k2=v2" into a map; tinyforge.* keys are refused
// because the sidecar's own labels must not be forged.
type labelsValue struct{ m map[string]string }

func (l labelsValue) String() string { return "" }

func (l labelsValue) Set(s string) error {
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("label %q: want key=value", kv)
		}
		if strings.HasPrefix(k, "tinyforge.") {
			return fmt.Errorf("label %q: tinyforge.* labels are the sidecar's own", k)
		}
		l.m[k] = v
	}
	return nil
}

// osGetenv is the real environment.
var osGetenv = os.Getenv

// defaultInstanceID names the sidecar by host name and process id, unique
// among sidecars sharing a Redis unless told otherwise.
func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "tinyforge"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}
