package ingest

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

// YYYYMMDD is yyyymmdd, for its test.
var YYYYMMDD = yyyymmdd
