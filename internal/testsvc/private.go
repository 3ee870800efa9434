package testsvc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// privateBase holds the directories of private engines, one per run
// (<privateBase>/<run id>/<net>/<engine>/), each run with an owner file
// naming the test process: a run whose process is gone is a leftover the
// next start cleans.
var privateBase = filepath.Join(os.TempDir(), "tinyforge-pe")

// privatePrefix starts the name of every netns, interface and cgroup a
// private engine uses, so leftovers are found by name.
const privatePrefix = "tfpe"

// PrivateNet is a network of its own for private Docker engines: a
// "switch" network namespace holding a bridge, one veth from the host into
// it (the host's address on it is HostAddr), and one veth per engine. Nothing
// of it touches the host's routing beyond its own /24 on the host veth, nor
// the host's firewall: engines talk to each other inside the switch
// namespace, and the host is an endpoint on the bridge.
type PrivateNet struct {
	Name     string // tfpe<run><n>, the prefix of its namespaces and interfaces
	Subnet   string // 10.218.K.0/24
	HostAddr string // the host's address on the bridge, 10.218.K.254
	dir      string

	mu      sync.Mutex
	engines int
}

// ipCmd runs ip(8) with args, in the namespace ns when it is not "".
func ipCmd(ns string, args ...string) error {
	cmd := exec.Command("ip", args...)
	if ns != "" {
		cmd = exec.Command("ip", append([]string{"-n", ns}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(cmd.Args[1:], " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

var privateSweep sync.Once

// NewPrivateNet makes the switch namespace and the host's veth into it,
// and removes everything of it at cleanup (after the engines on it, which
// register their cleanup later). Leftovers of interrupted runs are
// removed first, once per process. It stops the test (Unavailable) when
// the machine cannot make namespaces (not root, no ip(8)).
func NewPrivateNet(t testing.TB) *PrivateNet {
	t.Helper()
	SkipShort(t, "private Docker engines")
	for _, bin := range []string{"ip", "nsenter", "dockerd", "containerd"} {
		if _, err := exec.LookPath(bin); err != nil {
			Unavailable(t, "private engine: %s not found", bin)
		}
	}
	if os.Geteuid() != 0 {
		Unavailable(t, "private engine: network namespaces need root")
	}
	privateSweep.Do(func() { sweepPrivate(t) })
	runDir := filepath.Join(privateBase, RunID)
	n := &PrivateNet{Name: fmt.Sprintf("%s%s%d", privatePrefix, RunID, nextPrivate())}
	n.dir = filepath.Join(runDir, n.Name)
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		t.Fatalf("private net dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(runDir, "owner"), []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
		t.Fatalf("private net owner file: %v", err)
	}
	k, err := freeSubnet()
	if err != nil {
		t.Fatalf("private net: %v", err)
	}
	n.Subnet, n.HostAddr = fmt.Sprintf("10.218.%d.0/24", k), fmt.Sprintf("10.218.%d.254", k)
	t.Cleanup(func() { n.remove(t) })
	sw, host, peer := n.switchNS(), n.ifName("h"), n.ifName("s")
	steps := [][]string{
		{"", "netns", "add", sw},
		{sw, "link", "set", "lo", "up"},
		{sw, "link", "add", "br0", "type", "bridge"},
		{sw, "link", "set", "br0", "up"},
		{"", "link", "add", host, "type", "veth", "peer", "name", peer},
		{"", "link", "set", peer, "netns", sw},
		{sw, "link", "set", peer, "master", "br0"},
		{sw, "link", "set", peer, "up"},
		{"", "addr", "add", n.HostAddr + "/24", "dev", host},
		{"", "link", "set", host, "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s[0], s[1:]...); err != nil {
			t.Fatalf("private net %s: %v", n.Name, err)
		}
	}
	return n
}

var privateCount struct {
	sync.Mutex
	n int
}

func nextPrivate() int {
	privateCount.Lock()
	defer privateCount.Unlock()
	privateCount.n++
	return privateCount.n
}

// freeSubnet picks K for 10.218.K.0/24 that no host interface uses yet.
func freeSubnet() (int, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return 0, fmt.Errorf("host addresses: %w", err)
	}
	used := map[int]bool{}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip := ipn.IP.To4(); ip != nil && ip[0] == 10 && ip[1] == 218 {
				used[int(ip[2])] = true
			}
		}
	}
	for range 64 {
		if k := 1 + rand.IntN(250); !used[k] {
			return k, nil
		}
	}
	return 0, fmt.Errorf("no free 10.218.K.0/24 among the host's addresses")
}

// ifName names an interface of the net: tp<run><n><suffix>, within the
// kernel's 15 characters.
func (n *PrivateNet) ifName(suffix string) string {
	return "tp" + strings.TrimPrefix(n.Name, privatePrefix) + suffix
}

// switchNS is the name of the switch namespace.
func (n *PrivateNet) switchNS() string { return n.Name + "-sw" }

// attach gives namespace ns a veth on the bridge with address .<host>,
// default route via the host's address.
func (n *PrivateNet) attach(ns string, host int) (string, error) {
	addr := strings.TrimSuffix(n.HostAddr, ".254") + fmt.Sprintf(".%d", host)
	in, out := n.ifName(fmt.Sprintf("e%d", host)), n.ifName(fmt.Sprintf("b%d", host))
	steps := [][]string{
		{"", "link", "add", in, "type", "veth", "peer", "name", out},
		{"", "link", "set", out, "netns", n.switchNS()},
		{n.switchNS(), "link", "set", out, "master", "br0"},
		{n.switchNS(), "link", "set", out, "up"},
		{"", "link", "set", in, "netns", ns},
		{ns, "link", "set", "lo", "up"},
		{ns, "addr", "add", addr + "/24", "dev", in},
		{ns, "link", "set", in, "up"},
		{ns, "route", "add", "default", "via", n.HostAddr},
	}
	for _, s := range steps {
		if err := ipCmd(s[0], s[1:]...); err != nil {
			return "", err
		}
	}
	return addr, nil
}

// remove deletes the switch namespace (which takes the bridge and the
// peers of every veth with it), the host's veth and the run's directory.
func (n *PrivateNet) remove(t testing.TB) {
	if err := ipCmd("", "netns", "del", n.switchNS()); err != nil && !strings.Contains(err.Error(), "No such file") {
		t.Errorf("private net %s: %v", n.Name, err)
	}
	_ = ipCmd("", "link", "del", n.ifName("h")) // gone with its peer, normally
	if err := os.RemoveAll(n.dir); err != nil {
		t.Errorf("private net %s: remove %s: %v", n.Name, n.dir, err)
	}
	// The run's directory goes with its last net (the others still use it).
	runDir := filepath.Dir(n.dir)
	if entries, err := os.ReadDir(runDir); err == nil && len(entries) == 1 && entries[0].Name() == "owner" {
		_ = os.Remove(filepath.Join(runDir, "owner"))
		_ = os.Remove(runDir)
	}
}

// sweepPrivate removes what interrupted runs left: every run directory
// whose owner process is gone, with its engines' processes, mounts and
// cgroups, and every namespace and interface named after such a run.
func sweepPrivate(t testing.TB) {
	entries, _ := os.ReadDir(privateBase)
	dead := map[string]bool{}
	for _, e := range entries {
		if e.Name() == RunID {
			continue
		}
		owner, err := os.ReadFile(filepath.Join(privateBase, e.Name(), "owner"))
		if err == nil && processAlive(strings.TrimSpace(string(owner))) {
			continue
		}
		dead[e.Name()] = true
	}
	for run := range dead {
		dir := filepath.Join(privateBase, run)
		t.Logf("removing private engines left by run %s", run)
		killMatching(dir)
		killCgroups(privatePrefix + run)
		unmountUnder(dir)
		removeCgroups(privatePrefix + run)
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("remove %s: %v", dir, err)
		}
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if run, ok := privateRun(name); ok && dead[run] {
			_ = ipCmd("", "netns", "del", name)
		}
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if run, ok := privateRun(i.Name); ok && dead[run] {
			_ = ipCmd("", "link", "del", i.Name)
		}
	}
}

// privateRun is the run id in a name made by this file: tfpe<run><n>...
// (namespaces, cgroups) or tp<run><n>... (interfaces).
func privateRun(name string) (string, bool) {
	for _, p := range []string{privatePrefix, "tp"} {
		if strings.HasPrefix(name, p) && len(name) >= len(p)+8 {
			return name[len(p) : len(p)+8], true
		}
	}
	return "", false
}

func processAlive(pid string) bool {
	_, err := os.Stat("/proc/" + pid)
	return pid != "" && err == nil
}

// killMatching SIGKILLs every process whose command line mentions dir
// (dockerd, containerd, shims of a private engine).
func killMatching(dir string) {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), dir+"/") {
			continue
		}
		if proc, err := os.FindProcess(atoi(p.Name())); err == nil {
			_ = proc.Kill()
		}
	}
}

// killCgroups SIGKILLs every process in a cgroup whose name starts with
// prefix (the --cgroup-parent of private engines' containers).
func killCgroups(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/pids", prefix+"*"))
	for _, d := range dirs {
		_ = filepath.Walk(d, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(path)
			for _, pid := range strings.Fields(string(b)) {
				if proc, err := os.FindProcess(atoi(pid)); err == nil {
					_ = proc.Kill()
				}
			}
			return nil
		})
	}
}

// removeCgroups removes the (empty) cgroup directories named prefix* in
// every hierarchy, deepest first.
func removeCgroups(prefix string) {
	roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", prefix+"*"))
	for _, root := range roots {
		var dirs []string
		_ = filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			for range 20 {
				if err := os.Remove(dirs[i]); err == nil || os.IsNotExist(err) {
					break
				}
				time.Sleep(50 * time.Millisecond) // processes still leaving
			}
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = exec.Command("umount", "-l", points[i]).Run()
	}
}

// waitCtx is a context for one cleanup step.
func waitCtx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
