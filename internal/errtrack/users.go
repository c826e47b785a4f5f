package errtrack

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/bits"
	"slices"
)

// Users counts the distinct users of a group in bounded memory: exactly
// up to usersExact users (their 64-bit hashes, sorted), then as a
// HyperLogLog of 2^usersP one-byte registers (2 KiB; standard error about
// 2.3%).
type Users struct {
	exact []uint64
	regs  []uint8 // nil while exact
}

const (
	usersExact = 128
	usersP     = 11
)

// UserHash hashes a user key (User.Key) for Users.
func UserHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return mix64(h.Sum64())
}

// mix64 is SplitMix64's finalizer: FNV's low bits are weak for HLL.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Add counts a user's hash.
func (u *Users) Add(h uint64) {
	if u.regs != nil {
		u.addReg(h)
		return
	}
	i, found := slices.BinarySearch(u.exact, h)
	if found {
		return
	}
	if len(u.exact) < usersExact {
		u.exact = slices.Insert(u.exact, i, h)
		return
	}
	u.regs = make([]uint8, 1<<usersP)
	for _, x := range u.exact {
		u.addReg(x)
	}
	u.exact = nil
	u.addReg(h)
}

func (u *Users) addReg(h uint64) {
	idx := h >> (64 - usersP)
	rest := h<<usersP | 1<<(usersP-1) // a guard bit bounds the rank
	rank := uint8(bits.LeadingZeros64(rest)) + 1
	if rank > u.regs[idx] {
		u.regs[idx] = rank
	}
}

// Count returns the number of distinct users (exact while small).
func (u Users) Count() int64 {
	if u.regs == nil {
		return int64(len(u.exact))
	}
	m := float64(len(u.regs))
	sum, zeros := 0.0, 0
	for _, r := range u.regs {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	alpha := 0.7213 / (1 + 1.079/m)
	est := alpha * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros)) // linear counting
	}
	return int64(math.Round(est))
}

// Clone returns an independent copy.
func (u Users) Clone() Users {
	return Users{exact: slices.Clone(u.exact), regs: slices.Clone(u.regs)}
}

// MarshalBinary encodes the sketch: 'e' and the sorted hashes, or 'h' and
// the registers.
func (u Users) MarshalBinary() []byte {
	if u.regs != nil {
		return append([]byte{'h'}, u.regs...)
	}
	b := make([]byte, 1, 1+8*len(u.exact))
	b[0] = 'e'
	for _, x := range u.exact {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

// UnmarshalUsers decodes MarshalBinary's encoding; anything else is an
// empty sketch.
func UnmarshalUsers(b []byte) Users {
	switch {
	case len(b) == 1+(1<<usersP) && b[0] == 'h':
		return Users{regs: slices.Clone(b[1:])}
	case len(b) >= 1 && b[0] == 'e' && (len(b)-1)%8 == 0 && (len(b)-1)/8 <= usersExact:
		u := Users{exact: make([]uint64, 0, (len(b)-1)/8)}
		for i := 1; i < len(b); i += 8 {
			u.exact = append(u.exact, binary.LittleEndian.Uint64(b[i:]))
		}
		slices.Sort(u.exact)
		u.exact = slices.Compact(u.exact)
		return u
	}
	return Users{}
}
