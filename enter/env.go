package enter

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/internal/passwd"
	"github.com/ctr-enter/ctr-enter/resolve"
)

// explicitEnv is what the operator asked for on top of the target's
// environment, in docker exec's order: the env files, then -e. A bare
// NAME takes ctr-enter's own value of NAME; from -e, a NAME ctr-enter
// does not have stays bare, which environment reads as "remove" (as
// docker does), while in a file it is left out (as docker does).
func explicitEnv(files, env []string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	for _, name := range files {
		kvs, err := readEnvFile(name, lookup)
		if err != nil {
			return nil, err
		}
		out = append(out, kvs...)
	}
	for _, kv := range env {
		if !strings.Contains(kv, "=") {
			if v, ok := lookup(kv); ok {
				kv += "=" + v
			}
		}
		out = append(out, kv)
	}
	return out, nil
}

// readEnvFile reads a file of docker's --env-file format: KEY=VALUE lines,
// taken as they are (no quotes, no expansion, the value untrimmed);
// leading blanks, empty lines and lines starting with # are skipped; a bare
// NAME takes ctr-enter's value of NAME, or nothing if it has none.
func readEnvFile(name string, lookup func(string) (string, bool)) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	for n := 1; sc.Scan(); n++ {
		if !utf8.Valid(sc.Bytes()) {
			return nil, fmt.Errorf("--env-file %s: line %d: invalid UTF-8", name, n)
		}
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, hasValue := strings.Cut(line, "=")
		switch {
		case key == "":
			return nil, fmt.Errorf("--env-file %s: line %d: no variable name", name, n)
		case strings.ContainsFunc(key, unicode.IsSpace):
			return nil, fmt.Errorf("--env-file %s: line %d: variable %q contains blanks", name, n, key)
		case hasValue:
			out = append(out, key+"="+value)
		default:
			if v, ok := lookup(key); ok {
				out = append(out, key+"="+v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", name, err)
	}
	return out, nil
}

// hasVar says whether env sets name.
func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}

// dockerDefaults adds what docker exec gives a command whose environment
// lacks it: HOSTNAME, the target's hostname (docker sets it from the
// container's config, which is what its UTS namespace holds), and HOME, the
// home directory of the user the command runs as in the target's
// /etc/passwd, else / (runc's). docker exec sets no USER, and neither does
// ctr-enter.
func (s *session) dockerDefaults(p *resolve.Process) error {
	if !hasVar(s.env, "HOSTNAME") {
		name, err := targetHostname(p)
		if err != nil {
			return err
		}
		s.env = append(s.env, "HOSTNAME="+name)
	}
	if !hasVar(s.env, "HOME") {
		uid := 0 // ctr-enter's own, or the root of a joined user namespace
		switch s.creds {
		case targetCredentials:
			var err error
			if uid, err = targetUID(p); err != nil {
				return err
			}
		case userCredentials:
			uid = s.user.UID
		}
		// A passwd the target made unreadable (a device node, a link
		// out of its root) costs it its HOME, not the session, as for
		// the login shell: HomeDir of no users is /.
		users, _ := s.users()
		s.env = append(s.env, "HOME="+passwd.HomeDir(users, uid))
	}
	return nil
}

// targetHostname is the hostname of the target's UTS namespace. It is read
// with uname on a thread that joins the namespace through the pidfd (the
// process validated, never a recycled PID) and is never used again: it
// stays locked, so the Go runtime ends it with this goroutine rather than
// hand a thread in the target's namespace to other code.
func targetHostname(p *resolve.Process) (string, error) {
	type result struct {
		name string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(p.Pidfd.Fd()), unix.CLONE_NEWUTS); err != nil {
			ch <- result{err: fmt.Errorf("join the target's uts namespace: %w", os.NewSyscallError("setns", err))}
			return
		}
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			ch <- result{err: os.NewSyscallError("uname", err)}
			return
		}
		ch <- result{name: unix.ByteSliceToString(u.Nodename[:])}
	}()
	r := <-ch
	return r.name, r.err
}
