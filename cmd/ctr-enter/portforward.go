package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/ctr-enter/ctr-enter/ports"
	"github.com/ctr-enter/ctr-enter/resolve"
)

type portForwardCmd struct {
	asRoot
	Target string   `arg:"" predictor:"target" help:"Container name, ID, prefix of a generated ID, or PID; or docker://NAME, containerd://[NS/]ID, pid:N."`
	Ports  []string `arg:"" name:"ports" placeholder:"[ADDRESS:]LOCAL:REMOTE" help:"A host port (LOCAL, empty for any free one) on ADDRESS (default 127.0.0.1), forwarded to the target's REMOTE; REMOTE alone forwards the same port."`
}

func (c *portForwardCmd) Help() string {
	return `Listens on the host and forwards each connection to a port on the target's
loopback (127.0.0.1, then ::1), made from inside its network namespace: a
server the container binds to its own 127.0.0.1 is reachable, for every
runtime, with no tool in the target. Nothing listens inside the target.

Prints "Forwarding from ADDRESS:PORT -> REMOTE" once each port listens, and
runs until interrupted (SIGINT, SIGTERM), then closes every connection. If
the target exits, it says so and exits with status 125.

Examples:
  ctr-enter port-forward taka 6379                 redis on the host's 127.0.0.1:6379
  ctr-enter port-forward taka 8080:80 :9090        and any free port to 9090
  ctr-enter port-forward docker://taka 0.0.0.0:6380:6379
  ctr-enter port-forward taka '[::1]:6380:6379'`
}

// checkArgs reads the forwards before the root check.
func (c *portForwardCmd) checkArgs() error {
	_, err := c.forwards()
	return err
}

func (c *portForwardCmd) forwards() ([]ports.Forward, error) {
	var fs []ports.Forward
	for _, s := range c.Ports {
		f, err := ports.ParseForward(s)
		if err != nil {
			return nil, fmt.Errorf("invalid port forward %w", err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func (c *portForwardCmd) Run(ctx context.Context, g *Globals) error {
	fs, err := c.forwards()
	if err != nil {
		return err
	}
	p, err := resolveAndOpen(ctx, g, c.Target)
	if err != nil {
		return err
	}
	defer p.Close()
	ctx, stop := signal.NotifyContext(ctx, unix.SIGINT, unix.SIGTERM)
	defer stop()
	return ports.Run(ctx, ports.Options{
		Pidfd:    p.Pidfd,
		Exited:   fmt.Errorf("%w: %s (pid %d) exited; every forwarded connection was closed", resolve.ErrVanished, p.Target, p.PID),
		Forwards: fs,
		Listening: func(f ports.Forward, addr net.Addr) {
			fmt.Fprintf(os.Stdout, "Forwarding from %s -> %d\n", addr, f.Remote)
		},
		Warn: warn,
	})
}
