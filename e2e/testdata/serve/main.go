// Command serve accepts TCP connections on the address of its only
// argument (and closes them) until it receives SIGTERM or SIGINT.
//
// It is the only file of the e2e image ctr-enter-test/distroless:latest
// (see e2e/env.sh): a scratch/distroless target with one static binary, run
// with a read-only root as a non-root user, that listens on a port a
// session's ss must see. It is built with CGO_ENABLED=0 so that it is
// static.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: serve ADDRESS")
		os.Exit(2)
	}
	l, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	os.Exit(0)
}
