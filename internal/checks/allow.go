package checks

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Allow restricts the addresses checks may reach (--checks-allow): host
// names ("status.example.com", or "*.example.com" for its subdomains)
// and networks ("10.1.0.0/16", or an address alone). A request may go
// where its host name is listed (to whatever that name resolves to), or
// to an address inside a listed network, checked on the connection after
// name resolution: a name that resolves into a network not listed (DNS
// rebinding included) is refused as an address typed in. A nil *Allow
// allows everything.
type Allow struct {
	hosts   []string // lower case; "*.x" matches subdomains of x
	nets    []netip.Prefix
	entries []string
}

// ParseAllow reads a list of hosts and networks separated by commas or
// spaces; an empty list is nil (everything allowed).
func ParseAllow(s string) (*Allow, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil, nil
	}
	a := &Allow{}
	for _, f := range fields {
		f = strings.ToLower(strings.TrimSpace(f))
		a.entries = append(a.entries, f)
		if p, err := netip.ParsePrefix(f); err == nil {
			a.nets = append(a.nets, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(strings.Trim(f, "[]")); err == nil {
			a.nets = append(a.nets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(f, "*."), ".")
		if name == "" || strings.ContainsAny(name, "/*:[]") {
			return nil, fmt.Errorf("%q is neither a host name (app.example.com, *.example.com) nor a network (10.0.0.0/8, 192.0.2.7)", f)
		}
		if strings.HasPrefix(f, "*.") {
			name = "*." + name
		}
		a.hosts = append(a.hosts, name)
	}
	return a, nil
}

// String lists the entries as given.
func (a *Allow) String() string {
	if a == nil {
		return ""
	}
	return strings.Join(a.entries, ",")
}

// Host reports whether a host name is listed (an address literal is
// checked as an address).
func (a *Allow) Host(host string) bool {
	if a == nil {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		return a.Addr(ip)
	}
	for _, h := range a.hosts {
		if sub, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+sub) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

// Addr reports whether an address is inside a listed network.
func (a *Allow) Addr(ip netip.Addr) bool {
	if a == nil {
		return true
	}
	ip = ip.Unmap()
	for _, p := range a.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// control is a net.Dialer's Control that refuses addresses outside the
// listed networks.
func (a *Allow) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !a.Addr(ip) {
		return fmt.Errorf("address %s is %w", host, ErrNotAllowed)
	}
	return nil
}
