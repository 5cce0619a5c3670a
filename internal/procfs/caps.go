package procfs

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// capNames is indexed by capability number. Keying the entries by the
// kernel's constants makes a misnumbered name a compile error.
var capNames = [...]string{
	unix.CAP_CHOWN:              "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:       "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:    "CAP_DAC_READ_SEARCH",
	unix.CAP_FOWNER:             "CAP_FOWNER",
	unix.CAP_FSETID:             "CAP_FSETID",
	unix.CAP_KILL:               "CAP_KILL",
	unix.CAP_SETGID:             "CAP_SETGID",
	unix.CAP_SETUID:             "CAP_SETUID",
	unix.CAP_SETPCAP:            "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE:    "CAP_LINUX_IMMUTABLE",
	unix.CAP_NET_BIND_SERVICE:   "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:      "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:          "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:            "CAP_NET_RAW",
	unix.CAP_IPC_LOCK:           "CAP_IPC_LOCK",
	unix.CAP_IPC_OWNER:          "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE:         "CAP_SYS_MODULE",
	unix.CAP_SYS_RAWIO:          "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT:         "CAP_SYS_CHROOT",
	unix.CAP_SYS_PTRACE:         "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT:          "CAP_SYS_PACCT",
	unix.CAP_SYS_ADMIN:          "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT:           "CAP_SYS_BOOT",
	unix.CAP_SYS_NICE:           "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE:       "CAP_SYS_RESOURCE",
	unix.CAP_SYS_TIME:           "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG:     "CAP_SYS_TTY_CONFIG",
	unix.CAP_MKNOD:              "CAP_MKNOD",
	unix.CAP_LEASE:              "CAP_LEASE",
	unix.CAP_AUDIT_WRITE:        "CAP_AUDIT_WRITE",
	unix.CAP_AUDIT_CONTROL:      "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP:            "CAP_SETFCAP",
	unix.CAP_MAC_OVERRIDE:       "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN:          "CAP_MAC_ADMIN",
	unix.CAP_SYSLOG:             "CAP_SYSLOG",
	unix.CAP_WAKE_ALARM:         "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND:      "CAP_BLOCK_SUSPEND",
	unix.CAP_AUDIT_READ:         "CAP_AUDIT_READ",
	unix.CAP_PERFMON:            "CAP_PERFMON",
	unix.CAP_BPF:                "CAP_BPF",
	unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

// DockerDefaultCaps is the set Docker, containerd and runc give a
// container unless told otherwise (moby's and containerd's default
// capability lists agree on these 14): the base against which a
// container's extra privileges show.
var DockerDefaultCaps uint64 = 1<<unix.CAP_CHOWN |
	1<<unix.CAP_DAC_OVERRIDE |
	1<<unix.CAP_FSETID |
	1<<unix.CAP_FOWNER |
	1<<unix.CAP_MKNOD |
	1<<unix.CAP_NET_RAW |
	1<<unix.CAP_SETGID |
	1<<unix.CAP_SETUID |
	1<<unix.CAP_SETFCAP |
	1<<unix.CAP_SETPCAP |
	1<<unix.CAP_NET_BIND_SERVICE |
	1<<unix.CAP_SYS_CHROOT |
	1<<unix.CAP_KILL |
	1<<unix.CAP_AUDIT_WRITE

// CapName names capability number bit, as "CAP_41" for one newer than
// this table so that a newer kernel's capabilities are still shown.
func CapName(bit int) string {
	if bit >= 0 && bit < len(capNames) {
		return capNames[bit]
	}
	return "CAP_" + strconv.Itoa(bit)
}

// CapNames names the capabilities in mask, lowest bit first.
func CapNames(mask uint64) []string {
	var names []string
	for bit := range 64 {
		if mask&(1<<bit) != 0 {
			names = append(names, CapName(bit))
		}
	}
	return names
}

// CapDiff names the capabilities have holds beyond base, and those of
// base it lacks.
func CapDiff(have, base uint64) (added, dropped []string) {
	return CapNames(have &^ base), CapNames(base &^ have)
}
