//go:build linux

package testenv

import (
	"net"
	"testing"
)

func TestNetNS(t *testing.T) {
	a, b := NewNetNS(t), NewNetNS(t)
	Veth(t, a, "va", []string{"198.18.0.1/30"}, b, "vb", []string{"198.18.0.2/30"})
	a.CheckIsolated(t)
	b.CheckIsolated(t)

	var ln net.Listener
	if err := a.Do(func() (err error) {
		ln, err = net.Listen("tcp", "198.18.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	var got []byte
	if err := b.Do(func() error {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		got = make([]byte, 2)
		_, err = c.Read(got)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if string(got) != "hi" {
		t.Fatalf("got %q", got)
	}
}
