// Command tinyforge turns tinyforge.* container labels into running,
// routed containers, deployed blue-green on every registry push.
package main

import (
	"fmt"
	"os"

	"github.com/tinyforge/tinyforge/admin"
	"github.com/tinyforge/tinyforge/client"
	"github.com/tinyforge/tinyforge/cmd/tinyforge/labelscli"
	"github.com/tinyforge/tinyforge/internal/buildinfo"
	"github.com/tinyforge/tinyforge/sidecar"
)

const usage = `usage: tinyforge <command> [flags]

commands:
  sidecar   run the daemon (tinyforge sidecar -h lists its flags)
  labels    check controller labels before a deploy, print their reference (tinyforge labels -h)
  health    exit 0 when the sidecar on this host answers /healthz (for HEALTHCHECK)
  registry  add|list|remove registry credentials (token sealed in Redis)
  env       set|unset|list env overrides of a workload (--secret seals the value)
  secrets   rotate: re-seal every secret under the current key
  status    what serves each workload: tag, digest, instances, routes, last deploy (via the sidecar's API)
  deploy    deploy a tag of a workload; --wait follows its steps (via the sidecar's API)
  rollback  redeploy an earlier successful image of a workload, --to a tag or digest (via the sidecar's API)
  deploys   show a workload's deploy history (via the sidecar's API)
  approve   deploy a workload's delivery pending approval (approval=manual; via the sidecar's API)
  reject    drop a workload's delivery pending approval (via the sidecar's API)
  logs      the logs of the container serving a workload; -f follows them across deploys (via the sidecar's API)
  version   print the version, commit and Go version of this binary
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "sidecar":
		os.Exit(sidecar.Main(os.Args[2:], os.Stderr))
	case "labels":
		os.Exit(labelscli.Main(os.Args[2:]))
	case "health":
		os.Exit(client.Health(os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	case "registry", "env", "secrets":
		os.Exit(admin.Main(os.Args[1], os.Args[2:], admin.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}))
	case "status":
		os.Exit(client.StatusMain(os.Args[2:], os.Stdout, os.Stderr))
	case "deploy":
		os.Exit(client.DeployMain(os.Args[2:], os.Stdout, os.Stderr))
	case "logs":
		os.Exit(client.LogsMain(os.Args[2:], os.Stdout, os.Stderr))
	case "rollback":
		os.Exit(client.RollbackMain(os.Args[2:], os.Stdout, os.Stderr))
	case "deploys":
		os.Exit(client.DeploysMain(os.Args[2:], os.Stdout, os.Stderr))
	case "approve":
		os.Exit(client.ApproveMain(os.Args[2:], os.Stdout, os.Stderr))
	case "reject":
		os.Exit(client.RejectMain(os.Args[2:], os.Stdout, os.Stderr))
	case "version", "--version":
		fmt.Println(buildinfo.Get())
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "tinyforge: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
