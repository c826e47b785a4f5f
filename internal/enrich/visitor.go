package enrich

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// SaltSetting is the setting the day salts are kept in: a JSON object from
// UTC day (YYYY-MM-DD) to a hex salt of 32 random bytes.
const SaltSetting = "visitor_salts"

// visitorID is the cookieless visitor id: the first 8 bytes, in hex, of
// HMAC-SHA256 keyed with the day's salt over the project, the IP address
// and the User-Agent. Without the salt, which is deleted once its day is
// over, the id cannot be linked back to an address, nor to the same
// visitor's id of another day.
func visitorID(salt []byte, project int64, ip netip.Addr, userAgent string) string {
	m := hmac.New(sha256.New, salt)
	var b [8 + 16 + 1]byte
	binary.BigEndian.PutUint64(b[:8], uint64(project))
	a := ip.Unmap().As16() // the zero Addr hashes as ::
	copy(b[8:24], a[:])
	m.Write(b[:])
	m.Write([]byte(userAgent))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// salts are the random salts of the current UTC day and, for a visit that
// goes on across midnight, of the day before: the latter only until the
// visit timeout has passed after midnight. Any other is deleted, from
// memory and from Settings.
type salts struct {
	st Settings

	mu     sync.Mutex
	loaded bool
	days   map[string][]byte
	dirty  bool // days differ from what Settings holds
}

// current returns today's salt and, within grace after midnight (UTC),
// yesterday's (nil otherwise), making today's and deleting the others as
// needed.
func (s *salts) current(ctx context.Context, now time.Time, grace time.Duration) (today, yesterday []byte, err error) {
	now = now.UTC()
	day := now.Format(time.DateOnly)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	prev := ""
	if now.Sub(midnight) < grace {
		prev = midnight.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		if err := s.load(ctx); err != nil {
			return nil, nil, err
		}
	}
	for d := range s.days {
		if d != day && d != prev {
			delete(s.days, d)
			s.dirty = true
		}
	}
	if s.days[day] == nil {
		salt := make([]byte, 32)
		if _, err := rand.Read(salt); err != nil {
			panic("BUG: crypto/rand failed: " + err.Error())
		}
		s.days[day] = salt
		s.dirty = true
	}
	if s.dirty {
		if err := s.store(ctx); err != nil {
			return nil, nil, err
		}
		s.dirty = false
	}
	return s.days[day], s.days[prev], nil
}

func (s *salts) load(ctx context.Context) error {
	s.days = map[string][]byte{}
	if s.st == nil {
		s.loaded = true
		return nil
	}
	v, err := s.st.Setting(ctx, SaltSetting)
	if err != nil {
		return fmt.Errorf("read the visitor salts: %w", err)
	}
	if v != "" {
		var stored map[string]string
		if err := json.Unmarshal([]byte(v), &stored); err != nil {
			return fmt.Errorf("stored visitor salts: %w", err)
		}
		for d, h := range stored {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != 32 {
				s.dirty = true // rewritten without it
				continue
			}
			s.days[d] = b
		}
	}
	s.loaded = true
	return nil
}

func (s *salts) store(ctx context.Context) error {
	if s.st == nil {
		return nil
	}
	out := map[string]string{}
	for _, d := range slices.Sorted(maps.Keys(s.days)) {
		out[d] = hex.EncodeToString(s.days[d])
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if err := s.st.SetSetting(ctx, SaltSetting, string(b)); err != nil {
		return fmt.Errorf("store the visitor salts: %w", err)
	}
	return nil
}

// visit is one visit (session): a visitor's events with no gap longer than
// the visit timeout.
type visit struct {
	id       string // random, 16 hex digits
	visitor  string // the visitor id it started with
	last     int64  // Unix ms of its latest event
	lastPage int64  // Unix ms of its latest page view
	pages    int    // page views so far
}

// visits are the visits under way, by visitor id. A visit that goes on
// across midnight is found under yesterday's id and filed under today's
// too, keeping the id it started with.
type visits struct {
	mu        sync.Mutex
	m         map[string]*visit
	max       int
	timeout   int64
	lastSweep int64
}

func newVisits(max int, timeout int64) *visits {
	return &visits{m: map[string]*visit{}, max: max, timeout: timeout}
}

// visit returns the visit an event at (Unix ms) of the visitor ids[0]
// (today's) or ids[1] (yesterday's, or "") belongs to, starting one when
// none is under way. Past max visits, a new visit is not remembered: each
// of its events starts another. The caller holds mu.
func (v *visits) visit(ids [2]string, at int64) *visit {
	if x := v.m[ids[0]]; x != nil && at-x.last < v.timeout {
		x.last = max(x.last, at)
		return x
	}
	if ids[1] != "" {
		if x := v.m[ids[1]]; x != nil && at-x.last < v.timeout {
			x.last = max(x.last, at)
			v.put(ids[0], x, at)
			return x
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	x := &visit{id: hex.EncodeToString(b[:]), visitor: ids[0], last: at}
	v.put(ids[0], x, at)
	return x
}

func (v *visits) put(id string, x *visit, now int64) {
	if _, ok := v.m[id]; !ok && len(v.m) >= v.max {
		if now-v.lastSweep < 1000 {
			return
		}
		v.sweep(now)
		if len(v.m) >= v.max {
			return
		}
	}
	v.m[id] = x
}

// sweep forgets the visits that have ended by now. The caller holds mu.
func (v *visits) sweep(now int64) {
	v.lastSweep = now
	for id, x := range v.m {
		if now-x.last >= v.timeout {
			delete(v.m, id)
		}
	}
}
