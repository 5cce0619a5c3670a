package attach

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-enter/ctr-enter/internal/procfs"
	"github.com/ctr-enter/ctr-enter/resolve"
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

// Confinement is what SecurityTarget copies from the target's process, as
// the kernel reports it (the runtime's config may say less, or lie).
type Confinement struct {
	UID, GID                       int
	Groups                         []int
	Bounding, Effective, Permitted uint64
	NoNewPrivs                     bool
	// AppArmor is the target's AppArmor profile: "" where no LSM labels
	// processes (as on machines without AppArmor), or the target runs
	// unconfined. SELinux labels are not copied.
	AppArmor string
}

// ErrOwnUserNamespace refuses SecurityTarget for a target in a user
// namespace of its own: its capabilities hold there, and copied into a
// sidecar in the host's user namespace they would hold over the host.
var ErrOwnUserNamespace = errors.New("the target runs in a user namespace of its own: its capabilities cannot be copied to a sidecar outside it")

// ReadConfinement reads the confinement of an opened target.
func ReadConfinement(p *resolve.Process) (*Confinement, error) {
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
	return &Confinement{
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
		return nil
	}
	return fmt.Errorf("unknown security %q (want one of %s)", o.Security, strings.Join(Securities, ", "))
}

// dockerSecurity adds the security mode to a Docker create body.
func dockerSecurity(ctx context.Context, d *resolve.DockerClient, t *resolve.Target, o Options, spec, host map[string]any) error {
	switch o.Security {
	case SecurityPrivileged:
		host["Privileged"] = true
	case SecurityTarget:
		c := o.Confinement
		var inspect struct {
			HostConfig struct {
				Privileged  bool
				SecurityOpt []string
			}
		}
		if err := d.Do(ctx, http.MethodGet, "/containers/"+t.ID+"/json", nil, &inspect); err != nil {
			return fmt.Errorf("inspect %s: %w", t, err)
		}
		// Docker gives root bounding = effective = permitted = this set,
		// and a non-root user the same bounding set and nothing effective:
		// with the target's user, that is the target's.
		host["CapDrop"] = []string{"ALL"}
		host["CapAdd"] = procfs.CapNames(c.Bounding)
		spec["User"] = strconv.Itoa(c.UID) + ":" + strconv.Itoa(c.GID)
		groups := make([]string, 0, len(c.Groups))
		for _, g := range c.Groups {
			groups = append(groups, strconv.Itoa(g))
		}
		host["GroupAdd"] = groups
		var opts []string
		for _, s := range inspect.HostConfig.SecurityOpt {
			// "seccomp=unconfined" or the profile itself, as the CLI sends it.
			if strings.HasPrefix(s, "seccomp=") || strings.HasPrefix(s, "seccomp:") {
				opts = append(opts, s)
			}
		}
		if inspect.HostConfig.Privileged && len(opts) == 0 {
			// A privileged target runs without a filter, whatever it says.
			opts = append(opts, "seccomp=unconfined")
		}
		if c.AppArmor != "" {
			opts = append(opts, "apparmor="+c.AppArmor)
		} else if inspect.HostConfig.Privileged {
			opts = append(opts, "apparmor=unconfined")
		}
		if c.NoNewPrivs {
			opts = append(opts, "no-new-privileges")
		}
		host["SecurityOpt"] = opts
	}
	return nil
}

// containerdSecurity is the security mode as spec options; targetSpec is
// the target's own spec (for its seccomp profile).
func containerdSecurity(o Options, targetSpec *oci.Spec) []oci.SpecOpts {
	switch o.Security {
	case SecurityPrivileged:
		return []oci.SpecOpts{oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices}
	case SecurityTarget:
		return []oci.SpecOpts{withConfinement(o.Confinement, targetSpec)}
	}
	return nil
}

func withConfinement(c *Confinement, targetSpec *oci.Spec) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:  procfs.CapNames(c.Bounding),
			Effective: procfs.CapNames(c.Effective),
			Permitted: procfs.CapNames(c.Permitted),
		}
		gids := make([]uint32, 0, len(c.Groups))
		for _, g := range c.Groups {
			gids = append(gids, uint32(g))
		}
		s.Process.User = specs.User{UID: uint32(c.UID), GID: uint32(c.GID), AdditionalGids: gids}
		s.Process.NoNewPrivileges = c.NoNewPrivs
		s.Process.ApparmorProfile = c.AppArmor
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		// The target's filter, or none as it has none (runc installs it
		// from the spec; the kernel shows only that there is one).
		s.Linux.Seccomp = nil
		if targetSpec != nil && targetSpec.Linux != nil {
			s.Linux.Seccomp = targetSpec.Linux.Seccomp
		}
		return nil
	}
}
