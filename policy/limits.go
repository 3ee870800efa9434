package policy

import (
	"fmt"
	"math"
	"strconv"

	units "github.com/docker/go-units"
)

// Limits caps the resources of every container (--max-cpu, --max-memory,
// --max-pids) and fills them in when a workload sets none (--default-cpu,
// --default-memory; the PIDs maximum is also the default). Zero means
// unset.
type Limits struct {
	MaxNanoCPUs     int64
	MaxMemory       int64 // bytes
	DefaultNanoCPUs int64
	DefaultMemory   int64 // bytes
	MaxPIDs         int64
}

// DefaultMaxPIDs is --max-pids when the operator gives none: enough for
// the threads of a JVM or a worker pool, far from what a fork bomb needs
// to exhaust the host's pid space.
const DefaultMaxPIDs = 4096

// PIDs returns the PIDs limit a container gets for a workload asking for
// asked (0 = none asked): the maximum when it asks none or more, capped
// saying a request was lowered. With no maximum (0), the request stands.
func (l Limits) PIDs(asked int64) (pids int64, capped bool) {
	v, c := apply(asked, l.MaxPIDs, l.MaxPIDs)
	return v, c
}

// Apply returns the limits a container gets for a workload asking for
// nanoCPUs and memory (0 = no limit asked): the default when it asks none,
// never more than the maximum; capped says a request was lowered.
func (l Limits) Apply(nanoCPUs, memory int64) (cpu, mem int64, capped bool) {
	cpu, c1 := apply(nanoCPUs, l.DefaultNanoCPUs, l.MaxNanoCPUs)
	mem, c2 := apply(memory, l.DefaultMemory, l.MaxMemory)
	return cpu, mem, c1 || c2
}

func apply(asked, def, maxV int64) (int64, bool) {
	v := asked
	if v <= 0 {
		v = def
	}
	if maxV > 0 && (v <= 0 || v > maxV) {
		return maxV, asked > maxV
	}
	return max(v, 0), false
}

// Validate refuses a default above its maximum.
func (l Limits) Validate() error {
	if l.MaxNanoCPUs > 0 && l.DefaultNanoCPUs > l.MaxNanoCPUs {
		return fmt.Errorf("--default-cpu is above --max-cpu")
	}
	if l.MaxMemory > 0 && l.DefaultMemory > l.MaxMemory {
		return fmt.Errorf("--default-memory is above --max-memory")
	}
	return nil
}

// ParseCPU reads a number of cores ("2", "0.5"; "" or "0" = unset) as
// nano-CPUs, Docker's unit.
func ParseCPU(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f > 1e6 {
		return 0, fmt.Errorf("cpu %q: want a number of cores, e.g. 0.5 or 2", s)
	}
	return int64(math.Round(f * 1e9)), nil
}

// ParseMemory reads a size ("512m", "1g", "268435456"; "" or "0" = unset)
// in bytes. Docker refuses limits under 6 MiB, so they are refused here.
func ParseMemory(s string) (int64, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("memory %q: want a size such as 512m or 1g", s)
	}
	if n < 6<<20 {
		return 0, fmt.Errorf("memory %q: below Docker's minimum of 6m", s)
	}
	return n, nil
}

// CoresToNano converts a label's CPU limit in cores to nano-CPUs.
func CoresToNano(cores float64) int64 {
	if cores <= 0 || math.IsNaN(cores) || math.IsInf(cores, 0) {
		return 0
	}
	return int64(math.Round(cores * 1e9))
}

// MBToBytes converts a label's memory limit in MB (MiB, as the original
// design meant) to bytes.
func MBToBytes(mb int64) int64 {
	if mb <= 0 {
		return 0
	}
	return mb << 20
}
