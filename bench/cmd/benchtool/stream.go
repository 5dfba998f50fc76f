package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet("benchtool "+name, flag.ContinueOnError)
}

// streamServer accepts connections and writes to each as fast as it can
// until the peer goes away, the connection's bound passes, or the server's
// lifetime ends.
func streamServer(args []string) error {
	fs := newFlags("stream-server")
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	lifetime := fs.Duration("lifetime", 2*time.Hour, "exit after this long")
	connMax := fs.Duration("conn-max", 2*time.Minute, "bound on one connection's stream")
	bufSize := fs.Int("buf", 256<<10, "write size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := loopback(*listen); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	time.AfterFunc(*lifetime, func() { ln.Close() })
	buf := make([]byte, *bufSize)
	for i := range buf {
		buf[i] = byte(i)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil // closed at the end of the lifetime
		}
		go func() {
			defer c.Close()
			c.SetWriteDeadline(time.Now().Add(*connMax))
			for {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
	}
}

// streamClient opens conns connections to addr, reads from all of them for
// duration and prints the throughput of the payload received, after a
// short warm-up that is not counted.
func streamClient(args []string) error {
	fs := newFlags("stream-client")
	addr := fs.String("addr", "", "loopback address of the stream server (or a proxy in front of it)")
	conns := fs.Int("conns", 4, "parallel streams")
	duration := fs.Duration("duration", 10*time.Second, "measured time")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "time before measuring")
	bufSize := fs.Int("buf", 256<<10, "read size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := loopback(*addr); err != nil {
		return err
	}
	if *conns < 1 || *conns > 256 {
		return fmt.Errorf("-conns %d out of 1..256", *conns)
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *conns)
	end := time.Now().Add(*warmup + *duration)
	for range *conns {
		c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
		if err != nil {
			return err
		}
		c.SetReadDeadline(end)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			buf := make([]byte, *bufSize)
			for {
				n, err := c.Read(buf)
				total.Add(int64(n))
				if err != nil {
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						if err == io.EOF {
							err = fmt.Errorf("stream ended early")
						}
						errs <- err
					}
					return
				}
			}
		}()
	}
	time.Sleep(*warmup)
	start, startBytes := time.Now(), total.Load()
	wg.Wait()
	el := time.Since(start)
	n := total.Load() - startBytes
	select {
	case err := <-errs:
		return err
	default:
	}
	gbps := float64(n) * 8 / el.Seconds() / 1e9
	fmt.Printf("gbps=%.3f bytes=%d seconds=%.3f conns=%d\n", gbps, n, el.Seconds(), *conns)
	return nil
}
