//go:build !race

package rollup

const raceEnabled = false
