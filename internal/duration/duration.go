// Package duration reads and writes the durations that rules and checks
// are written with: Go's durations plus whole days ("1d", "2d12h").
package duration

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Parse reads Go's durations and whole days ("1d", "2d12h"; at most 400
// days). Negative durations are refused.
func Parse(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 400 {
			return 0, errors.New("bad days")
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return days + d, nil
}

// Format writes d in days or hours when it is whole ones, else as Go does.
func Format(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return d.String()
}
