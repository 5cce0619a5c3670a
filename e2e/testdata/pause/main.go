// Command pause blocks until it receives SIGTERM or SIGINT, then exits 0.
//
// It is the only file of the e2e image ctr-enter-test/noshell:latest (see
// e2e/env.sh): a target with no shell, no /etc and no /bin. It is built
// with CGO_ENABLED=0 so that it is static.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	os.Exit(0)
}
