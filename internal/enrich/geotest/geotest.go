// Package geotest writes small MaxMind DB (MMDB) files for tests: an IPv4
// database that maps networks to a country, in the format and with the
// fields of GeoLite2 Country (country.iso_code), read by the real reader.
// It is test support only.
package geotest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Write writes an MMDB file mapping each IPv4 network to its ISO country
// code into a temporary directory of t and returns its path.
func Write(t testing.TB, networks map[string]string) string {
	t.Helper()
	data, err := Build(networks)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// node is a node of the search tree: each side is a child node, a data
// offset, or nothing.
type node struct {
	child [2]int // index of the child node, -1 when none
	data  [2]int // data offset + 1, 0 when none
}

// Build returns an MMDB (record size 24, IPv4) mapping each network
// ("203.0.113.0/24") to {"country":{"iso_code": code}}.
func Build(networks map[string]string) ([]byte, error) {
	var dataSec bytes.Buffer
	offsets := map[string]int{}
	nodes := []node{{child: [2]int{-1, -1}}}
	for _, cidr := range slices.Sorted(maps.Keys(networks)) {
		pfx, err := netip.ParsePrefix(cidr)
		if err != nil || !pfx.Addr().Is4() || pfx.Bits() == 0 {
			return nil, fmt.Errorf("network %q: want an IPv4 prefix of 1 to 32 bits", cidr)
		}
		code := networks[cidr]
		off, ok := offsets[code]
		if !ok {
			off = dataSec.Len()
			offsets[code] = off
			writeMap(&dataSec, 1)
			writeString(&dataSec, "country")
			writeMap(&dataSec, 1)
			writeString(&dataSec, "iso_code")
			writeString(&dataSec, code)
		}
		a := pfx.Masked().Addr().As4()
		n := 0
		for i := 0; i < pfx.Bits(); i++ {
			bit := int(a[i/8]>>(7-i%8)) & 1
			if i == pfx.Bits()-1 {
				nodes[n].data[bit] = off + 1
				break
			}
			if nodes[n].child[bit] < 0 {
				nodes = append(nodes, node{child: [2]int{-1, -1}})
				nodes[n].child[bit] = len(nodes) - 1
			}
			n = nodes[n].child[bit]
		}
	}
	count := len(nodes)
	var out bytes.Buffer
	for _, nd := range nodes {
		for side := range 2 {
			v := count // nothing
			switch {
			case nd.child[side] >= 0:
				v = nd.child[side]
			case nd.data[side] > 0:
				v = count + 16 + nd.data[side] - 1
			}
			out.Write([]byte{byte(v >> 16), byte(v >> 8), byte(v)})
		}
	}
	out.Write(make([]byte, 16))
	out.Write(dataSec.Bytes())
	out.WriteString("\xAB\xCD\xEFMaxMind.com")
	writeMap(&out, 9)
	writeString(&out, "binary_format_major_version")
	writeUint(&out, 5, 2)
	writeString(&out, "binary_format_minor_version")
	writeUint(&out, 5, 0)
	writeString(&out, "build_epoch")
	writeUint(&out, 9, 1_700_000_000)
	writeString(&out, "database_type")
	writeString(&out, "GeoLite2-Country")
	writeString(&out, "description")
	writeMap(&out, 1)
	writeString(&out, "en")
	writeString(&out, "Alidade test database")
	writeString(&out, "ip_version")
	writeUint(&out, 5, 4)
	writeString(&out, "languages")
	out.Write([]byte{0<<5 | 1, 11 - 7})
	writeString(&out, "en")
	writeString(&out, "node_count")
	writeUint(&out, 6, uint64(count))
	writeString(&out, "record_size")
	writeUint(&out, 5, 24)
	return out.Bytes(), nil
}

func writeMap(b *bytes.Buffer, n int) { b.WriteByte(7<<5 | byte(n)) }

func writeString(b *bytes.Buffer, s string) {
	if len(s) >= 29 {
		b.WriteByte(2<<5 | 29)
		b.WriteByte(byte(len(s) - 29))
	} else {
		b.WriteByte(2<<5 | byte(len(s)))
	}
	b.WriteString(s)
}

// writeUint writes an unsigned integer of MMDB type typ (5 uint16, 6
// uint32, 9 uint64) in as few bytes as it needs.
func writeUint(b *bytes.Buffer, typ int, v uint64) {
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], v)
	n := 8
	for n > 0 && be[8-n] == 0 {
		n--
	}
	if typ <= 7 {
		b.WriteByte(byte(typ)<<5 | byte(n))
	} else {
		b.WriteByte(byte(n))
		b.WriteByte(byte(typ - 7))
	}
	b.Write(be[8-n:])
}
