package ports

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHalfCloseAndBackpressure sends 64 MiB through a server that reads
// all of it slowly and only then answers with its digest: the relay must
// hold what the server does not take yet (without reading more from the
// client), pass the client's end of file on, and still carry the answer.
func TestHalfCloseAndBackpressure(t *testing.T) {
	_, pidfd := child(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h := sha256.New()
		buf := make([]byte, 256<<10)
		for {
			time.Sleep(2 * time.Millisecond) // slower than the client
			n, err := c.Read(buf)
			h.Write(buf[:n])
			if err != nil {
				break
			}
		}
		c.Write(h.Sum(nil))
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := start(t, ctx, pidfd, l, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := sha256.New()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for i := range 64 {
		data[0] = byte(i)
		h.Write(data)
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, h.Sum(nil)) {
		t.Fatalf("answer %x, %v; want the digest %x", got, err, h.Sum(nil))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRefusedAndIPv6 checks the connections to the target's loopback: to
// a port nothing listens on, the client is closed with one warning; to a
// server on ::1 alone, the connection gets there after 127.0.0.1 refused.
func TestRefusedAndIPv6(t *testing.T) {
	_, pidfd := child(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // its port now refuses
	var mu sync.Mutex
	var warned []string
	warn := func(err error) { mu.Lock(); warned = append(warned, err.Error()); mu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := start(t, ctx, pidfd, l, warn)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Errorf("a refused connection read %d, %v; want it closed", n, err)
	}
	c.Close()
	cancel()
	<-done
	mu.Lock()
	// ::1 is tried after 127.0.0.1 refused: where it is there, its
	// refusal is the one said.
	if len(warned) != 1 || !strings.Contains(warned[0], "in the target: connect: connection refused") {
		t.Errorf("warnings %q; want one that the connection was refused", warned)
	}
	mu.Unlock()

	six, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer six.Close()
	go echo(six)
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(six.Addr().(*net.TCPAddr).Port))); err == nil {
		c.Close()
		t.Skip("127.0.0.1 answers on the port ::1 got: the fallback cannot be told apart")
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	addr, done = start(t, ctx, pidfd, six, nil)
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, bufio.NewReader(c))
	cancel()
	<-done
}

// TestManyConnections forwards 200 connections at once, each answered.
func TestManyConnections(t *testing.T) {
	_, pidfd := child(t)
	server := echoServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := start(t, ctx, pidfd, server, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			msg := strings.Repeat(string(rune('a'+i%26)), 1000+i) + "\n"
			if _, err := c.Write([]byte(msg)); err != nil {
				errs <- err
				return
			}
			if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != msg {
				errs <- errors.New("a wrong or missing answer")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
