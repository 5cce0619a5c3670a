package attach

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/resolve"
	"github.com/ctr-enter/ctr-enter/runtimes"
)

// Security says how much an attached container may do.
//
// The default is the runtime's default for a new container: a sidecar is a
// new container that the runtime vouches for, no more privileged than
// `docker run IMAGE` or `ctr run IMAGE` would make it, whatever the target
// itself was given. Anything more is asked for by name.
type Security string

const (
	// SecurityDefault: the runtime's defaults for a new container
	// (Docker: its 14 default capabilities, its seccomp profile and
	// AppArmor profile where AppArmor is on; containerd: the same
	// capabilities, no seccomp filter, no LSM profile).
	SecurityDefault Security = "default"
	// SecurityTarget: the target's user and groups, capabilities (bounding,
	// effective, permitted), no_new_privs, seccomp profile and AppArmor
	// profile, so that the sidecar can do what the target can and no more.
	SecurityTarget Security = "target"
	// SecurityPrivileged: Docker's --privileged; on containerd, every
	// capability ctr-enter holds, every host device, no seccomp filter, no
	// LSM profile, writable /sys and cgroupfs.
	SecurityPrivileged Security = "privileged"
)

// Securities are the accepted values, for flags.
var Securities = []string{string(SecurityDefault), string(SecurityTarget), string(SecurityPrivileged)}

// ErrOwnUserNamespace refuses SecurityTarget for a target in a user
// namespace of its own: its capabilities hold there, and copied into a
// sidecar in the host's user namespace they would hold over the host.
var ErrOwnUserNamespace = errors.New("the target runs in a user namespace of its own: its capabilities cannot be copied to a sidecar outside it")

// ReadConfinement reads the confinement of an opened target.
func ReadConfinement(p *resolve.Process) (*runtimes.Confinement, error) {
	shared, err := p.SharesNamespace("user")
	if err != nil {
		return nil, err
	}
	if !shared {
		return nil, fmt.Errorf("security %s: %w", SecurityTarget, ErrOwnUserNamespace)
	}
	// Credentials checks the target is still there once it has read
	// them: the namespace above was the target's too.
	creds, err := p.Credentials()
	if err != nil {
		return nil, err
	}
	return &runtimes.Confinement{
		UID: creds.Uids[1], GID: creds.Gids[1], Groups: creds.Groups,
		Bounding: creds.CapBnd, Effective: creds.CapEff, Permitted: creds.CapPrm,
		NoNewPrivs: creds.NoNewPrivs, AppArmor: apparmorProfile(creds.LSMLabel),
	}, nil
}

// apparmorProfile is the profile name in an AppArmor label, "NAME (MODE)";
// "" for unconfined or a label of another LSM.
func apparmorProfile(label string) string {
	name, mode, ok := strings.Cut(label, " (")
	if !ok || !strings.HasSuffix(mode, ")") || name == "unconfined" {
		return ""
	}
	return name
}

// checkSecurity refuses a mode it does not know, or target without the
// target's confinement.
func checkSecurity(o Options) error {
	switch o.Security {
	case "", SecurityDefault, SecurityPrivileged:
		return nil
	case SecurityTarget:
		if o.Confinement == nil {
			return fmt.Errorf("security %s: the target's confinement was not read", o.Security)
		}
		if o.User != "" || len(o.CapAdd) > 0 || len(o.CapDrop) > 0 {
			return ErrTargetAndOwn
		}
		return nil
	}
	return fmt.Errorf("unknown security %q (want one of %s)", o.Security, strings.Join(Securities, ", "))
}

// ErrTargetAndOwn refuses a user or capabilities of the operator's beside
// SecurityTarget, which copies the target's: one or the other says what
// the sidecar may do.
var ErrTargetAndOwn = errors.New("--security target copies the target's user and capabilities: it does not take -u, --cap-add or --cap-drop")

// CapNames reads capability names as docker run's --cap-add and --cap-drop
// take them (NET_ADMIN, cap_net_admin, CAP_NET_ADMIN, ALL), and returns
// them in the kernel's form (CAP_NET_ADMIN, or ALL). An unknown name is an
// error, rather than a sidecar without the capability.
func CapNames(names []string) ([]string, error) {
	known := procfs.CapNames(1<<(unix.CAP_LAST_CAP+1) - 1)
	out := make([]string, 0, len(names))
	for _, n := range names {
		c := strings.ToUpper(n)
		if c == "ALL" {
			out = append(out, c)
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if !slices.Contains(known, c) {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		out = append(out, c)
	}
	return out, nil
}
