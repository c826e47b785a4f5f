//go:build race

package rollup

// raceEnabled: the heaviest fixtures (a month of cells, millions of adds)
// are skipped under the race detector, which makes them take minutes.
const raceEnabled = true
