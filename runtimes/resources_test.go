package runtimes

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
)

func TestEnforced(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	v1 := &procfs.Cgroups{Version: 1,
		Memory: procfs.MemoryStats{Limit: i64(96 << 20)},
		CPU:    procfs.CPUStats{QuotaUs: i64(50000), PeriodUs: u64(100000), Shares: u64(512)},
		Pids:   procfs.PidsStats{Limit: i64(-1)},
	}
	for _, tc := range []struct {
		name  string
		r     Resources
		cg    *procfs.Cgroups
		lines []string
		err   string
	}{
		{"as asked", Resources{Memory: i64(96 << 20), NanoCPUs: i64(5e8), CPUShares: u64(512), Pids: i64(-1)}, v1, []string{
			"memory limit: 100663296 bytes", "cpu quota: 50000us per 100000us (0.50 CPUs)", "cpu shares: 512", "pids limit: none",
		}, ""},
		// The kernel rounds down to pages.
		{"unaligned memory", Resources{Memory: i64(96<<20 + 100)}, v1, []string{"memory limit: 100663296 bytes"}, ""},
		{"memory ignored", Resources{Memory: i64(-1)}, v1, nil, "memory limit: the kernel enforces 100663296 bytes, not none as asked: the runtime did not apply it"},
		{"several ignored", Resources{CPUShares: u64(1024), Pids: i64(100)}, v1, nil,
			"cpu shares: the kernel enforces 512, not 1024 as asked; pids limit: the kernel enforces none, not 100 as asked: the runtime did not apply it"},
		// A quota over another period is another limit.
		{"other period", Resources{NanoCPUs: i64(5e8)}, &procfs.Cgroups{CPU: procfs.CPUStats{QuotaUs: i64(50000), PeriodUs: u64(200000)}}, nil,
			"cpu quota: the kernel enforces 25000us per 100000us (0.25 CPUs), not 50000us per 100000us (0.50 CPUs) as asked: the runtime did not apply it"},
		{"not shown", Resources{Pids: i64(10)}, &procfs.Cgroups{Version: 1}, []string{"pids limit set; this host does not show it (no such cgroup file)"}, ""},
		{"v2 weight", Resources{CPUShares: u64(1024)}, &procfs.Cgroups{Version: 2, CPU: procfs.CPUStats{Weight: u64(39)}}, []string{"cpu weight: 39"}, ""},
		{"huge memory is none", Resources{Memory: i64(1 << 62)}, &procfs.Cgroups{Memory: procfs.MemoryStats{Limit: i64(-1)}}, []string{"memory limit: none"}, ""},
	} {
		lines, err := tc.r.Enforced(tc.cg)
		if !reflect.DeepEqual(lines, tc.lines) || errString(err) != tc.err || (err != nil && !errors.Is(err, ErrNotApplied)) {
			t.Errorf("%s: %q, %v; want %q, %q", tc.name, lines, err, tc.lines, tc.err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestLinuxResources(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	// Only what is asked for: runc update leaves the rest as it is.
	if r := linuxResources(Resources{Pids: i64(42)}); r.Memory != nil || r.CPU != nil || *r.Pids.Limit != 42 {
		t.Errorf("pids only: %+v", r)
	}
	r := linuxResources(Resources{Memory: i64(-1), NanoCPUs: i64(5e8), CPUShares: u64(512)})
	if *r.Memory.Limit != -1 || *r.Memory.Swap != -1 || *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 512 {
		t.Errorf("limits: memory %+v, cpu %+v", r.Memory, r.CPU)
	}
	if r := linuxResources(Resources{Memory: i64(1 << 30)}); *r.Memory.Swap != 2<<30 {
		t.Errorf("swap of 1g: %d", *r.Memory.Swap)
	}
	if s := memorySwap(1 << 62); s != 1<<63-1 {
		t.Errorf("swap of 2^62: %d, want the largest", s)
	}
}
