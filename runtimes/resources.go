package runtimes

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

// ErrNotApplied is a limit the runtime accepted but the kernel does not
// enforce as asked: the runtime ignored it, or part of it.
var ErrNotApplied = errors.New("the runtime did not apply it")

// CPUPeriod is the CFS period (µs) over which --cpus is enforced, as
// docker run --cpus sets it.
const CPUPeriod = 100000

// cpuQuota is the CFS quota (µs per CPUPeriod) of nano CPUs.
func cpuQuota(nano int64) int64 { return nano * CPUPeriod / 1e9 }

// memorySwap is the memory+swap limit that goes with a memory limit of m
// (-1: none): as much swap again as memory, as docker run --memory gives
// (and nerdctl's). Set with the memory limit, so that a limit raised above
// the container's old memory+swap limit is not refused by the kernel
// (cgroup v1 wants memory <= memory+swap at every write).
func memorySwap(m int64) int64 {
	if m < 0 {
		return -1
	}
	if m > math.MaxInt64/2 {
		return math.MaxInt64
	}
	return 2 * m
}

// v1Unlimited is where the kernel's limits stop being limits (cgroup v1
// reads a removed memory limit as a number near 2^63): procfs reads
// anything from here on as no limit.
const v1Unlimited = 1 << 62

// Enforced compares r with what the kernel enforces, cg (read after the
// update), and returns one line per limit of r as the kernel has it. A
// limit the kernel holds otherwise than asked is an ErrNotApplied error:
// the runtime took the call and left the cgroup as it was, or wrote
// something else. A limit the kernel does not show here (no controller
// mounted) is said so, not checked.
func (r Resources) Enforced(cg *procfs.Cgroups) ([]string, error) {
	var lines []string
	var wrong []string
	check := func(what string, got *int64, want int64, show func(int64) string) {
		switch {
		case got == nil:
			lines = append(lines, what+" set; this host does not show it (no such cgroup file)")
		case *got != want:
			wrong = append(wrong, fmt.Sprintf("%s: the kernel enforces %s, not %s as asked", what, show(*got), show(want)))
		default:
			lines = append(lines, what+": "+show(*got))
		}
	}
	if r.Memory != nil {
		// The kernel counts in pages, rounding down.
		want := *r.Memory
		if ps := int64(os.Getpagesize()); want > 0 {
			want -= want % ps
		}
		if want >= v1Unlimited {
			want = -1
		}
		check("memory limit", cg.Memory.Limit, want, func(v int64) string {
			if v < 0 {
				return "none"
			}
			return fmt.Sprintf("%d bytes", v)
		})
	}
	if r.NanoCPUs != nil {
		var got *int64
		if cg.CPU.QuotaUs != nil && cg.CPU.PeriodUs != nil {
			// Quota and period as one number, so that a period left as
			// it was shows.
			q := *cg.CPU.QuotaUs
			if q >= 0 {
				q = q * CPUPeriod / int64(max(*cg.CPU.PeriodUs, 1))
			}
			got = &q
		}
		check("cpu quota", got, cpuQuota(*r.NanoCPUs), func(q int64) string {
			if q < 0 {
				return "none"
			}
			return fmt.Sprintf("%dus per %dus (%.2f CPUs)", q, CPUPeriod, float64(q)/CPUPeriod)
		})
	}
	if r.CPUShares != nil {
		shares := int64(*r.CPUShares)
		if cg.Version == 2 {
			// runc writes cpu.weight for shares, converted thus.
			check("cpu weight", toInt64(cg.CPU.Weight), 1+((shares-2)*9999)/262142, func(w int64) string {
				return fmt.Sprint(w)
			})
		} else {
			check("cpu shares", toInt64(cg.CPU.Shares), shares, func(s int64) string { return fmt.Sprint(s) })
		}
	}
	if r.Pids != nil {
		check("pids limit", cg.Pids.Limit, *r.Pids, func(v int64) string {
			if v < 0 {
				return "none"
			}
			return fmt.Sprint(v)
		})
	}
	if len(wrong) > 0 {
		// One line, whatever the number of limits.
		return lines, fmt.Errorf("%s: %w", strings.Join(wrong, "; "), ErrNotApplied)
	}
	return lines, nil
}

func toInt64(v *uint64) *int64 {
	if v == nil {
		return nil
	}
	i := int64(min(*v, math.MaxInt64))
	return &i
}
