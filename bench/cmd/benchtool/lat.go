package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"time"
)

// latency measures request latency, one request at a time (no queueing),
// and prints its percentiles in microseconds. keepalive: requests on one
// kept-alive connection; connect: each request on a new connection
// (connect, request, response, close).
func latency(args []string) error {
	fs := newFlags("lat")
	addr := fs.String("addr", "", "loopback address of the HTTP server (or a proxy in front of it)")
	mode := fs.String("mode", "keepalive", "keepalive or connect")
	duration := fs.Duration("duration", 5*time.Second, "measured time")
	maxN := fs.Int("n", 500000, "bound on the number of requests")
	warm := fs.Int("warmup", 200, "requests before measuring")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := loopback(*addr); err != nil {
		return err
	}
	var do func() error
	switch *mode {
	case "keepalive":
		var c net.Conn
		var br *bufio.Reader
		req := []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
		defer func() {
			if c != nil {
				c.Close()
			}
		}()
		do = func() error {
			if c == nil {
				var err error
				if c, err = net.DialTimeout("tcp", *addr, 5*time.Second); err != nil {
					return err
				}
				br = bufio.NewReader(c)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(req); err != nil {
				return err
			}
			return readResponse(br)
		}
	case "connect":
		req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
		buf := make([]byte, 4096)
		do = func() error {
			c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(req); err != nil {
				return err
			}
			got := 0
			for {
				n, err := c.Read(buf)
				got += n
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
			}
			if got == 0 {
				return fmt.Errorf("empty response")
			}
			return nil
		}
	default:
		return fmt.Errorf("unknown -mode %q", *mode)
	}
	for range *warm {
		if err := do(); err != nil {
			return err
		}
	}
	samples := make([]time.Duration, 0, min(*maxN, 1<<20))
	end := time.Now().Add(*duration)
	for len(samples) < *maxN && time.Now().Before(end) {
		t0 := time.Now()
		if err := do(); err != nil {
			return err
		}
		samples = append(samples, time.Since(t0))
	}
	if len(samples) == 0 {
		return fmt.Errorf("no samples")
	}
	slices.Sort(samples)
	us := func(q float64) float64 {
		i := int(q * float64(len(samples)-1))
		return float64(samples[i].Nanoseconds()) / 1e3
	}
	fmt.Printf("p50_us=%.1f p99_us=%.1f p999_us=%.1f n=%d\n", us(0.50), us(0.99), us(0.999), len(samples))
	return nil
}

// readResponse reads one HTTP/1.1 response with a Content-Length body.
func readResponse(br *bufio.Reader) error {
	length := -1
	first := true
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first {
			if !bytes.HasPrefix(line, []byte("HTTP/1.1 200")) {
				return fmt.Errorf("unexpected status line %q", bytes.TrimSpace(line))
			}
			first = false
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return fmt.Errorf("bad Content-Length %q", v)
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("response without Content-Length")
	}
	_, err := br.Discard(length)
	return err
}
