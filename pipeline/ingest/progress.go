package ingest

// ProgressTracker follows the reading of one export file, for a progress
// display. Update is called every ProgressEvery rows and once at the end of
// the file with the bytes read from the file so far (0 when the format has no
// byte position, as XLSX) and the records read; Done is called once, however
// the file ends (read, rejected or failed). Both are called on the run's own
// goroutine. Nothing from the file's content is ever passed: only its name
// (in Options.Progress), sizes and counts.
type ProgressTracker interface {
	Update(bytesRead int64, rows int)
	Done()
}

// ProgressEvery is how many records pass between two Updates.
const ProgressEvery = 4096

// noProgress is the tracker when Options.Progress is nil.
type noProgress struct{}

func (noProgress) Update(int64, int) {}
func (noProgress) Done()             {}

// startProgress returns the tracker for one file: file is its path relative
// to the inbox, size its size in bytes.
func (r *run) startProgress(file string, size int64) ProgressTracker {
	if r.progress == nil {
		return noProgress{}
	}
	if t := r.progress(file, size); t != nil {
		return t
	}
	return noProgress{}
}
