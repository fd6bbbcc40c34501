package ingest

// SetMemoryBounds sets the run's memory bounds (the batch's spill budget in
// bytes, the writer's buffered rows) for a test and returns a function that
// restores them.
func SetMemoryBounds(batch, rows int64) (restore func()) {
	b, r := batchMemory, writerBufferedRows
	batchMemory, writerBufferedRows = batch, rows
	return func() { batchMemory, writerBufferedRows = b, r }
}
