package main

import "github.com/ctr-enter/ctr-enter/internal/nskind"

// nsFlags are the namespace flags, with nsenter's long names, for any
// command that joins or shares a target's namespaces. The embedding
// command names their help group (kong passes an embedded struct's group
// to its fields), since what no flag means is the command's to say.
type nsFlags struct {
	Mount  bool `help:"Join the mount namespace."`
	UTS    bool `name:"uts" help:"Join the UTS namespace (hostname)."`
	IPC    bool `name:"ipc" help:"Join the IPC namespace."`
	Net    bool `help:"Join the network namespace."`
	PID    bool `name:"pid" help:"Join the pid namespace (with the target's /proc, so ps shows its processes)."`
	UserNS bool `name:"userns" help:"Join the user namespace (as its root; nsenter's --user)."`
	Cgroup bool `help:"Join the cgroup namespace."`
	Time   bool `help:"Join the time namespace."`
	All    bool `short:"a" help:"Join every namespace in which the target differs."`
}

// namespaces is the set the flags name: every kind with --all, none (0)
// when no flag is given, which the command reads as its own default.
func (f *nsFlags) namespaces() nskind.Set {
	if f.All {
		return nskind.All
	}
	var s nskind.Set
	for _, k := range []struct {
		on   bool
		kind nskind.Set
	}{
		{f.Mount, nskind.Mount}, {f.UTS, nskind.UTS}, {f.IPC, nskind.IPC}, {f.Net, nskind.Net},
		{f.PID, nskind.PID}, {f.UserNS, nskind.User}, {f.Cgroup, nskind.Cgroup}, {f.Time, nskind.Time},
	} {
		if k.on {
			s |= k.kind
		}
	}
	return s
}
