package enter

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/enter/nsexec"
)

// A session's tools run through launchers (enter/nsexec/launch.c): their
// dynamically linked programs would otherwise load the target's loader and
// libraries. The launchers' view, mounted at ToolsDir, is two directories
// of the cache overlaid read-only:
//
//	launchers/tools-KEY/bin/NAME   -> /.ctr-enter/ctr-enter, a link per program of the tools
//	launchers/tools-KEY/root/      where the tools are mounted (root/usr on a merged /usr)
//	launchers/exe-KEY/ctr-enter    ctr-enter's own executable: the launcher
//
// Both are made once and reused: a link per program costs about 10 ms for
// a Debian /usr, a session must not pay it. A tools directory is keyed by
// the identity of the tools' program directories (a package installed
// changes their mtime), the executable's by its own. The executable is a
// hard link where the cache shares its filesystem, a copy otherwise;
// either way the session sees it through an overlayfs without an upper
// layer, which nothing can remount writable (CVE-2019-5736, as openSealed).
const launchersDir = "launchers"

// launchersView returns a detached, read-only mount of the launchers for
// the tools t, made in cache if they are not there yet. The
// directories stay locked (shared) until the returned file is closed, so
// that no other ctr-enter prunes them while a session can use them.
func launchersView(cache string, t toolsTree) (view *os.File, err error) {
	dir := filepath.Join(cache, launchersDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make the launchers' directory: %w", err)
	}
	tools, err := ensure(dir, "tools-", t.key(), func(tmp string) error { return fillLaunchers(tmp, t) },
		func(name string) bool {
			// Made for tools that changed or went (an image removed).
			src, err := os.ReadFile(filepath.Join(dir, name+".src"))
			root, host, _ := strings.Cut(string(src), "\n")
			return err != nil || (toolsTree{root: root, host: host}).key() != strings.TrimPrefix(name, "tools-")
		})
	if err != nil {
		return nil, fmt.Errorf("make the tools' launchers: %w", err)
	}
	defer tools.Close()
	if src := tools.Name() + ".src"; !exists(src) {
		if err := os.WriteFile(src, []byte(t.root+"\n"+t.host), 0o600); err != nil {
			return nil, fmt.Errorf("make the tools' launchers: %w", err)
		}
	}
	exe, err := ensure(dir, "exe-", exeKey(), linkSelf, func(string) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("make the tools' launcher: %w", err)
	}
	defer exe.Close()
	mnt, err := readOnlyView(tools.Name(), exe.Name())
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(mnt), "launchers"), nil
}

// ensure returns dir/PREFIXkey, opened and share-locked, made by fill in a
// temporary directory renamed into place if it does not exist yet. Another
// ctr-enter making the same one at the same time is no harm: the first
// rename wins. Once a new one is made, the others of prefix that are stale
// and that no session holds go, with what a killed ctr-enter left.
func ensure(dir, prefix, key string, fill func(tmp string) error, stale func(name string) bool) (*os.File, error) {
	path := filepath.Join(dir, prefix+key)
	if f, err := openShared(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// Seen through the overlay by whoever the command runs as.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := fill(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil && !errors.Is(err, os.ErrExist) && !errors.Is(err, unix.ENOTEMPTY) {
		return nil, err
	}
	f, err := openShared(path)
	if err != nil {
		return nil, err
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() && strings.HasPrefix(name, prefix) && name != prefix+key && stale(name) || abandoned(e) {
			removeUnlocked(filepath.Join(dir, name))
		}
	}
	return f, nil
}

// abandoned says whether e is a temporary directory that a killed
// ctr-enter left: one that another is filling right now is younger.
func abandoned(e os.DirEntry) bool {
	fi, err := e.Info()
	return err == nil && strings.HasPrefix(e.Name(), ".tmp-") && time.Since(fi.ModTime()) > time.Hour
}

func openShared(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	// Removed while we waited for the lock.
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Nlink == 0 {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	return f, nil
}

// removeUnlocked removes path unless a session holds it.
func removeUnlocked(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		os.RemoveAll(path)
		os.Remove(path + ".src")
	}
}

// key identifies the programs of the tools: the directories
// fillLaunchers lists, by device, inode and modification time.
func (t toolsTree) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", t.root)
	for _, dir := range t.programDirs() {
		var st unix.Stat_t
		if unix.Stat(dir, &st) == nil {
			fmt.Fprintf(h, "%s %d %d %d.%d\n", dir, st.Dev, st.Ino, st.Mtim.Sec, st.Mtim.Nsec)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// exeKey identifies ctr-enter's own executable.
func exeKey() string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%x-%x-%x-%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
}

// programDirs are the host's paths of the tools' program directories.
func (t toolsTree) programDirs() []string {
	var dirs []string
	for _, d := range filepath.SplitList(nsexec.ToolsPath) {
		dirs = append(dirs, filepath.Join(t.host, d))
	}
	return dirs
}

// maxPrograms bounds the links made for one set of tools.
const maxPrograms = 1 << 16

// fillLaunchers makes the tools' part of the launchers' view in tmp, for
// each program of the tools (the first directory in PATH's order giving a
// name): bin/NAME, a link to the launcher; which/NAME, to the program
// (resolved here: ctr-enter's own tools' links may go through the host's
// /etc/alternatives, which the session lacks); ld/NAME, to its loader if
// it is dynamically linked. And where the tools go: ctr-enter's own tools
// on a merged /usr are /usr alone, mounted at root/usr beside links such
// as the host's /bin -> usr/bin, so that they see the paths their programs
// were built with (/usr/bin/perl, /usr/lib/x86_64-linux-gnu).
func fillLaunchers(tmp string, t toolsTree) error {
	top := filepath.Join(tmp, nsexec.ToolsRoot)
	for _, d := range []string{nsexec.ToolsBin, nsexec.ToolsWhich, nsexec.ToolsLd, nsexec.ToolsLoaders, nsexec.ToolsRoot} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return err
		}
	}
	if t.root == "/usr" {
		if err := os.Mkdir(filepath.Join(top, "usr"), 0o755); err != nil {
			return err
		}
		for _, name := range programDirs {
			if link, err := os.Readlink("/" + name); err == nil {
				if err := os.Symlink(link, filepath.Join(top, name)); err != nil {
					return err
				}
			}
		}
	}
	launcher := ToolsDir + "/" + nsexec.Launcher
	loaders := map[string]string{} // PT_INTERP -> the loader in the session
	seen := map[string]bool{}
	for _, dir := range t.programDirs() {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // the tools lack it
		}
		for _, e := range entries {
			if e.IsDir() || seen[e.Name()] {
				continue
			}
			if len(seen) >= maxPrograms {
				return fmt.Errorf("more than %d programs in the tools", maxPrograms)
			}
			seen[e.Name()] = true
			host, program := t.resolve(filepath.Join(dir, e.Name()))
			if program == "" {
				continue // a dangling link, or one out of the tools
			}
			links := map[string]string{nsexec.ToolsBin: launcher, nsexec.ToolsWhich: program}
			if interp := elfInterp(host); interp != "" {
				if _, ok := loaders[interp]; !ok {
					var host string
					host, loaders[interp] = t.resolve(filepath.Join(t.host, interp))
					if host != "" {
						spec := loaderOptions(host, interp) + " " + t.libraryPath(interp)
						if err := os.Symlink(spec, filepath.Join(tmp, nsexec.ToolsLoaders, filepath.Base(interp))); err != nil && !errors.Is(err, os.ErrExist) {
							return err
						}
					}
				}
				if loaders[interp] != "" {
					links[nsexec.ToolsLd] = loaders[interp]
				}
			}
			for d, target := range links {
				if err := os.Symlink(target, filepath.Join(tmp, d, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// toolsTree is a set of tools as the host holds them, and maps their
// files between the host and the session.
type toolsTree struct {
	root string // what the session mounts (toolsView): / or /usr for ctr-enter's own, else an image's tree
	host string // the tools' / on the host: / for ctr-enter's own (they see a whole root either way), else root
}

// resolve follows the links of path, on the host, to the file it is, and
// returns that file's host path and its path in the session; "" if it
// does not exist or is not the tools' (a link out of an image's tree, or
// into the host's /etc).
func (t toolsTree) resolve(path string) (host, session string) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", ""
	}
	rel, err := filepath.Rel(t.host, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", ""
	}
	if first, _, _ := strings.Cut(rel, "/"); t.host == "/" && !slices.Contains(programDirs, first) {
		return "", ""
	}
	return real, ToolsDir + "/" + nsexec.ToolsRoot + "/" + rel
}

// loaderOptions are the options of the launcher's command line that the
// loader at host knows, as launch.c reads them: glibc's --argv0 is 2.33's
// (an older loader would take it for the program to run), and musl's
// loader knows no --inhibit-cache. Their names are in the loader's usage
// text.
func loaderOptions(host, interp string) string {
	b, err := os.ReadFile(host)
	if err != nil {
		return "-"
	}
	opts := ""
	if bytes.Contains(b, []byte("argv0")) {
		opts += "a"
	}
	if !isMusl(interp) && bytes.Contains(b, []byte("--inhibit-cache")) {
		opts += "i"
	}
	return opts + "-"
}

func isMusl(interp string) bool { return strings.HasPrefix(filepath.Base(interp), "ld-musl-") }

// multiarch is Debian's directory name for this machine's libraries.
var multiarch = map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]

// libraryPath is the --library-path of a program whose loader is interp:
// the tools' library directories, in the session, each once. Those of
// the loader's configuration come first, as the loader itself reads it
// (glibc's ld.so.conf and its includes, musl's path file), then the
// default ones.
func (t toolsTree) libraryPath(interp string) string {
	var dirs []string
	if isMusl(interp) {
		// ld-musl-ARCH.so.1 reads /etc/ld-musl-ARCH.path.
		conf := "/etc/" + strings.TrimSuffix(filepath.Base(interp), ".so.1") + ".path"
		dirs = append(t.loaderConf(conf, false), "/lib", "/usr/local/lib", "/usr/lib")
	} else {
		dirs = append(t.loaderConf("/etc/ld.so.conf", true),
			"/usr/local/lib/"+multiarch, "/usr/local/lib", "/lib/"+multiarch, "/usr/lib/"+multiarch,
			"/lib64", "/usr/lib64", "/lib", "/usr/lib")
	}
	var path []string
	size := 0
	for _, d := range dirs {
		_, session := t.resolve(filepath.Join(t.host, d))
		// launch.c reads it from a link: at most PATH_MAX bytes.
		if session == "" || slices.Contains(path, session) || size+len(session)+1 > unix.PathMax/2 {
			continue
		}
		path = append(path, session)
		size += len(session) + 1
	}
	return strings.Join(path, ":")
}

// loaderConf lists the directories of the tools' loader configuration
// conf: one or more per line, # comments, and with includes (glibc's
// "include /etc/ld.so.conf.d/*.conf", one level deep) where allowed.
func (t toolsTree) loaderConf(conf string, includes bool) []string {
	host, _ := t.resolve(filepath.Join(t.host, conf))
	if host == "" {
		return nil
	}
	b, err := os.ReadFile(host)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ':' })
		if len(fields) > 1 && fields[0] == "include" && includes {
			for _, pattern := range fields[1:] {
				matches, _ := filepath.Glob(filepath.Join(t.host, pattern))
				for _, m := range matches {
					if rel, err := filepath.Rel(t.host, m); err == nil {
						dirs = append(dirs, t.loaderConf("/"+rel, false)...)
					}
				}
			}
			continue
		}
		for _, f := range fields {
			if strings.HasPrefix(f, "/") {
				dirs = append(dirs, f)
			}
		}
	}
	return dirs
}

// elfInterp is the loader an executable at path names (PT_INTERP), if
// it is a dynamically linked 64-bit ELF program of this machine's byte
// order. Only the headers are read: debug/elf parses every section, which
// takes seconds over a Debian /usr.
func elfInterp(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var eh elf.Header64
	if binary.Read(f, binary.NativeEndian, &eh) != nil || string(eh.Ident[:4]) != elf.ELFMAG ||
		elf.Class(eh.Ident[elf.EI_CLASS]) != elf.ELFCLASS64 || eh.Phentsize < uint16(binary.Size(elf.Prog64{})) {
		return ""
	}
	for i := range min(int(eh.Phnum), 256) {
		var ph elf.Prog64
		r := io.NewSectionReader(f, int64(eh.Phoff)+int64(i)*int64(eh.Phentsize), int64(eh.Phentsize))
		if binary.Read(r, binary.NativeEndian, &ph) != nil {
			return ""
		}
		if elf.ProgType(ph.Type) != elf.PT_INTERP || ph.Filesz < 2 || ph.Filesz > unix.PathMax {
			continue
		}
		b := make([]byte, ph.Filesz)
		if _, err := f.ReadAt(b, int64(ph.Off)); err != nil || b[0] != '/' {
			return ""
		}
		return strings.TrimRight(string(b), "\x00")
	}
	return ""
}

// linkSelf puts ctr-enter's own executable in tmp: a hard link, or a copy
// where the cache is on another filesystem.
func linkSelf(tmp string) error {
	dst := filepath.Join(tmp, nsexec.Launcher)
	err := unix.Linkat(unix.AT_FDCWD, "/proc/self/exe", unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW)
	if err == nil {
		return nil
	}
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
