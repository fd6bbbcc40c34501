package ingest

import "time"

// SetMemoryBounds sets the run's memory bounds (the batch's spill budget in
// bytes, the writer's buffered rows) for a test and returns a function that
// restores them.
func SetMemoryBounds(batch, rows int64) (restore func()) {
	b, r := batchMemory, writerBufferedRows
	batchMemory, writerBufferedRows = batch, rows
	return func() { batchMemory, writerBufferedRows = b, r }
}

// SetWorkers sets the number of converter goroutines of the runs that
// follow and returns a function that restores it.
func SetWorkers(n int) (restore func()) {
	w := workers
	workers = n
	return func() { workers = w }
}

// YYYYMMDD is appendYYYYMMDD as a string, for its test.
func YYYYMMDD(t time.Time) string { return string(appendYYYYMMDD(nil, t)) }

// OnSettled calls f each time a file of the runs that follow has had its
// turn, with the quarantine entries still held for the files whose turn is
// over, and returns a function that removes the hook.
func OnSettled(f func(heldBySettled int)) (restore func()) {
	settledHook = func(files []*prepared) {
		n := 0
		for _, p := range files {
			if p.finalised && p.decided && p.fr != nil {
				n += len(p.fr.held)
			}
		}
		f(n)
	}
	return func() { settledHook = nil }
}
