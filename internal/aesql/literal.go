package aesql

import (
	"math"
	"strconv"
	"strings"
)

// parseUintLit parses an unsigned numeric literal as the lexer produced it
// (decimal, 0x hexadecimal, 0b binary, or a float). isInt is false for
// floats and integers too large for 64 bits; ok is false when malformed.
func parseUintLit(text string) (v uint64, isInt, ok bool) {
	lower := asciiLower(text)
	switch {
	case strings.HasPrefix(lower, "0x"):
		v, err := strconv.ParseUint(lower[2:], 16, 64)
		return v, err == nil, err == nil
	case strings.HasPrefix(lower, "0b"):
		v, err := strconv.ParseUint(lower[2:], 2, 64)
		return v, err == nil, err == nil
	}
	if !strings.ContainsAny(lower, ".e") {
		if v, err := strconv.ParseUint(lower, 10, 64); err == nil {
			return v, true, true
		}
	}
	f, err := strconv.ParseFloat(lower, 64)
	if err != nil && !strings.Contains(err.Error(), "range") {
		return 0, false, false
	}
	_ = f
	return 0, false, true
}

// numberValue is a numeric literal's value: an integer (U or I) or a float.
type numberValue struct {
	isFloat bool
	neg     bool   // integer with a minus sign
	u       uint64 // magnitude when !isFloat
	f       float64
}

func parseNumber(text string) (numberValue, bool) {
	neg := strings.HasPrefix(text, "-")
	body := strings.TrimPrefix(text, "-")
	u, isInt, ok := parseUintLit(body)
	if !ok {
		return numberValue{}, false
	}
	if isInt {
		if neg && u > 1<<63 {
			return numberValue{isFloat: true, f: -float64(u)}, true
		}
		return numberValue{neg: neg && u != 0, u: u}, true
	}
	lower := asciiLower(body)
	var f float64
	if strings.HasPrefix(lower, "0x") || strings.HasPrefix(lower, "0b") {
		// too large for 64 bits
		f = math.Inf(1)
	} else {
		f, _ = strconv.ParseFloat(lower, 64)
	}
	if neg {
		f = -f
	}
	return numberValue{isFloat: true, f: f}, true
}
