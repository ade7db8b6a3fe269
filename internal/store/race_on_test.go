//go:build race

package store_test

// raceEnabled: the race detector (with checkptr) slows the transpiled SQLite ~20x, so the
// biggest tests check less of what they write.
const raceEnabled = true
