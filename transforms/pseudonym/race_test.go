//go:build race

package pseudonym

const raceEnabled = true
