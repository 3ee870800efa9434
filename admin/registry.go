package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tinyforge/tinyforge/secrets"
)

const registryAddUsage = "tinyforge registry add NAME --url URL [--username USER] [--scope KEYSCOPE] (--token TOKEN|- | --token-file FILE | --docker-config config.json)"

// registryAdd stores credentials for a registry under NAME, the name a
// workload's registry label refers to.
func registryAdd(ctx context.Context, io IO, args []string) error {
	fs := flag.NewFlagSet("registry add", flag.ContinueOnError)
	var c conn
	c.flags(fs, io.Getenv)
	url := fs.String("url", "", "registry host or URL, e.g. ghcr.io")
	user := fs.String("username", "", "username; empty: the token is sent as username too")
	token := fs.String("token", "", `access token or password ("-" reads it from stdin)`)
	tokenFile := fs.String("token-file", "", "file holding the token")
	dockerCfg := fs.String("docker-config", "", "take username and token from this Docker config.json's auths entry for --url")
	scope := fs.String("scope", "", "controller key scope the credentials belong to (see --controller-key-file); only its workloads may use them")
	pos, err := parse(fs, args, io.Stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, registryAddUsage); err != nil {
		return err
	}
	if *url == "" {
		return fmt.Errorf("%w: --url is required: %s", errUsage, registryAddUsage)
	}
	username, secret := *user, ""
	if *dockerCfg != "" {
		if *token != "" || *tokenFile != "" {
			return fmt.Errorf("%w: --docker-config replaces --token and --token-file", errUsage)
		}
		data, err := readLimited(*dockerCfg)
		if err != nil {
			return err
		}
		var u string
		if u, secret, err = secrets.FromDockerConfig(data, *url); err != nil {
			return err
		}
		if username == "" {
			username = u
		}
	} else if secret, err = readSecret(*token, *tokenFile, io.Stdin); err != nil {
		return err
	}
	if secret == "" {
		return fmt.Errorf("%w: a token is required: %s", errUsage, registryAddUsage)
	}
	v, st, err := c.vault(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	v.Scope = *scope
	if err := v.AddRegistry(ctx, pos[0], *url, username, secret); err != nil {
		return err
	}
	host, _ := secrets.RegistryHost(*url)
	who := "user " + username
	if username == "" {
		who = "token as username"
	}
	fmt.Fprintf(io.Stdout, "registry %s stored for %s (%s)\n", pos[0], host, who)
	return nil
}

func registryList(ctx context.Context, io IO, args []string) error {
	fs := flag.NewFlagSet("registry list", flag.ContinueOnError)
	var c conn
	c.flags(fs, io.Getenv)
	pos, err := parse(fs, args, io.Stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "tinyforge registry list"); err != nil {
		return err
	}
	_, st, err := c.vault(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	regs, err := st.ListRegistries(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(regs, func(a, b secrets.Registry) int { return strings.Compare(a.Name, b.Name) })
	tw := tabwriter.NewWriter(io.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tURL\tUSERNAME\tSCOPE")
	for _, r := range regs {
		user := r.Username
		if user == "" {
			user = "(token)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.URL, user, scopeOf(r.Scope))
	}
	return tw.Flush()
}

func registryRemove(ctx context.Context, io IO, args []string) error {
	fs := flag.NewFlagSet("registry remove", flag.ContinueOnError)
	var c conn
	c.flags(fs, io.Getenv)
	pos, err := parse(fs, args, io.Stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "tinyforge registry remove NAME"); err != nil {
		return err
	}
	_, st, err := c.vault(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.DeleteRegistry(ctx, pos[0]); errors.Is(err, secrets.ErrNotFound) {
		return fmt.Errorf("registry %s: not stored", pos[0])
	} else if err != nil {
		return err
	}
	fmt.Fprintf(io.Stdout, "registry %s removed\n", pos[0])
	return nil
}

// readLimited reads a small file (a token, a config.json).
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s: larger than 1 MiB", path)
	}
	return b, nil
}
