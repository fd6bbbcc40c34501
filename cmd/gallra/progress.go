package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gallra/gallra/pipeline/ingest"
)

// logOut is where the logs go: stderr, through a writer that first takes a
// progress bar off the terminal line, so that a log line never lands in the
// middle of a bar.
var logOut = &stderrWriter{w: os.Stderr}

// stderrWriter serialises the logs and the progress bar on stderr.
type stderrWriter struct {
	mu  sync.Mutex
	w   io.Writer
	bar *progressbar.ProgressBar // the bar on the terminal line, if any
}

// Write implements io.Writer for the log handler.
func (s *stderrWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bar != nil {
		_ = s.bar.Clear() // drawn again at its next update
	}
	return s.w.Write(p)
}

// useProgress decides whether `run` draws a progress bar per export file.
// Never when stderr is not a terminal (cron, systemd, a pipe); "auto" also
// not when the logs are JSON, which someone means to capture.
func useProgress(mode, logFormat string, stderrIsTerminal bool) (bool, error) {
	switch mode {
	case "off":
		return false, nil
	case "on":
		return stderrIsTerminal, nil
	case "auto", "":
		return stderrIsTerminal && logFormat != "json", nil
	}
	return false, usageError("--progress %q: want auto, on or off", mode)
}

// progressFlag is the --progress flag of run and demo.
func progressFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "progress", Value: "auto",
		Usage: "a progress bar per export file on stderr: auto (when stderr is a terminal and the logs are not JSON), on (whenever stderr is a terminal) or off; never drawn when stderr is not a terminal"}
}

// progressOption returns the ingest.Options.Progress that --progress asks
// for, or nil.
func progressOption(c *cli.Context) (func(string, int64) ingest.ProgressTracker, error) {
	on, err := useProgress(c.String("progress"), c.String("log-format"), term.IsTerminal(int(os.Stderr.Fd())))
	if err != nil || !on {
		return nil, err
	}
	return newFileBar(logOut), nil
}

// fileBar follows one export file on the terminal. Its bar is made at the
// first update, so a file read in less than ProgressEvery records never
// flickers one onto the screen; it is cleared when the file is done, and the
// log line "file read" stays. It shows the file's name (never its content),
// the bytes read of the file's size, bytes/s, records and records/s; for a
// format without a byte position (XLSX), records and records/s only.
type fileBar struct {
	out   *stderrWriter
	file  string
	start time.Time
	// Both bars start their clocks when the file opens; the first update
	// picks one: bytes, or records when the format has no byte position.
	bytes, records *progressbar.ProgressBar
	bar            *progressbar.ProgressBar // the one picked, nil before the first update
	drawn          time.Time                // when the bar was last drawn
}

// barInterval is how often a bar is drawn at most.
const barInterval = 100 * time.Millisecond

// newFileBar is an ingest.Options.Progress that draws on out.
func newFileBar(out *stderrWriter) func(file string, size int64) ingest.ProgressTracker {
	return func(file string, size int64) ingest.ProgressTracker {
		// A bar draws only when told to, on the caller's goroutine: no
		// throttle of its own (Update throttles) and no spinner ticker,
		// which would write to the terminal from a goroutine of its own.
		common := []progressbar.Option{
			progressbar.OptionSetWriter(out.w),
			progressbar.OptionSetDescription(file),
			progressbar.OptionSetWidth(24),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetSpinnerChangeInterval(0),
		}
		b := &fileBar{out: out, file: file, start: time.Now(),
			bytes: progressbar.NewOptions64(size, append(common, progressbar.OptionShowBytes(true),
				progressbar.OptionShowTotalBytes(true), progressbar.OptionSetPredictTime(true))...),
			records: progressbar.NewOptions64(-1, append(common, progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("rows"), progressbar.OptionSpinnerType(14))...),
		}
		b.bytes.StartWithoutRender()
		b.records.StartWithoutRender()
		return b
	}
}

// Update implements ingest.ProgressTracker.
func (b *fileBar) Update(bytesRead int64, rows int) {
	b.out.mu.Lock()
	defer b.out.mu.Unlock()
	if b.bar != nil && time.Since(b.drawn) < barInterval {
		return
	}
	b.drawn = time.Now()
	if b.bar == nil {
		b.bar = b.bytes
		if bytesRead == 0 {
			b.bar = b.records
		}
		b.out.bar = b.bar
	}
	if b.bar == b.records {
		_ = b.bar.Set64(int64(rows))
		return
	}
	rate := 0.0
	if s := time.Since(b.start).Seconds(); s > 0 {
		rate = float64(rows) / s
	}
	_ = b.bar.Set64(bytesRead)
	b.bar.Describe(fmt.Sprintf("%s  %s rows  %s rows/s", b.file, thousands(int64(rows)), thousands(int64(rate)))) // draws it
}

// Done implements ingest.ProgressTracker: the bar leaves the terminal.
func (b *fileBar) Done() {
	b.out.mu.Lock()
	defer b.out.mu.Unlock()
	if b.bar == nil {
		return
	}
	_ = b.bar.Exit()
	_ = b.bar.Clear()
	if b.out.bar == b.bar {
		b.out.bar = nil
	}
	b.bar = nil
}

// thousands formats n with a space between groups of three digits, as
// Swedish does (a thin space would not survive every terminal).
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
