// Package ingest runs a gallra job: it reads every export waiting in the
// sources' inboxes, turns each usable row into a minimised, pseudonymised lake
// row, quarantines the rest with a reason, and commits Parquet files to the
// lake.
//
// The path of one row, top to bottom, is fileRun.convert: identifier ->
// measure -> period -> pseudonym -> declared attributes -> lake.Row. Nothing
// else from the export is ever copied out of the reader: the schema's
// allowlist selects the columns before a row reaches this package.
package ingest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/quarantine"
	"github.com/gallra/gallra/pipeline/report"
	"github.com/gallra/gallra/pipeline/source"
	"github.com/gallra/gallra/schemas"
	"github.com/gallra/gallra/transforms/identity"
	"github.com/gallra/gallra/transforms/period"
	"github.com/gallra/gallra/transforms/pseudonym"
)

// Reason codes that this package assigns itself (identifier and period
// reasons come from transforms/identity and transforms/period).
const (
	ReasonFieldCount      = "field_count"          // the record has more or fewer fields than the header
	ReasonMalformed       = "malformed_csv"        // the record cannot be parsed (the reader's own reason, e.g. invalid_encoding, is kept)
	ReasonMissingMeasure  = "missing_measure"      // no measure label
	ReasonUnknownMeasure  = "unknown_measure"      // a label the schema does not map to the shared code list
	ReasonBadMunicipality = "unknown_municipality" // not a kommunkod
	ReasonReserve         = "reserve_number"       // a reserve/temporary number and the policy quarantines those
	ReasonBirthDateOnly   = "birth_date_only"      // only a birth date and the policy quarantines those
)

// Options are the run's settings that do not come from the job file.
type Options struct {
	Version string           // gallra version, for the report
	Now     func() time.Time // clock; nil = time.Now
	Logger  *slog.Logger     // nil = slog.Default()
}

// Run executes the job once. The returned report is complete even when the
// run failed (then err is non-nil and the report says why); the report's
// JSON has been written to the reports folder.
func Run(ctx context.Context, job *config.Job, key pseudonym.Key, opt Options) (*report.Run, error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	started := now().UTC()
	ref := job.ReferenceDate
	if ref.IsZero() {
		ref = time.Date(started.Year(), started.Month(), started.Day(), 0, 0, 0, 0, time.UTC)
	}
	r := &run{
		job: job, log: log, ref: ref,
		rep: &report.Run{
			RunID: newRunID(started), Version: opt.Version, Started: started,
			ReferenceDate: ref.Format("2006-01-02"), Config: job.Path,
			KeyID: key.ID(), Domain: job.Key.Domain,
			Totals: report.Counts{Quarantined: map[string]int{}},
		},
	}
	err := r.execute(ctx, key)
	if err != nil {
		r.rep.Error = err.Error()
	}
	r.rep.Finished = now().UTC()
	r.rep.Conclude()
	path := filepath.Join(job.Reports, "run-"+r.rep.RunID+".json")
	if werr := r.rep.WriteJSON(path); werr != nil {
		err = errors.Join(err, fmt.Errorf("writing run report: %w", werr))
		r.rep.Error = err.Error()
		r.rep.Conclude()
	}
	log.Info("run finished", "run_id", r.rep.RunID, "outcome", r.rep.Outcome, "exit_code", r.rep.ExitCode,
		"rows_read", r.rep.Totals.Read, "rows_accepted", r.rep.Totals.Accepted,
		"rows_quarantined", r.rep.Totals.QuarantinedTotal(), "report", path)
	return r.rep, err
}

// newRunID is sortable by start time and unique enough for one lake.
func newRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

type run struct {
	job *config.Job
	log *slog.Logger
	ref time.Time
	rep *report.Run
	q   *quarantine.Writer
	pz  *pseudonym.Pseudonymizer
}

func (r *run) execute(ctx context.Context, key pseudonym.Key) error {
	for _, dir := range []string{r.job.Reports, r.job.Lake} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
	}
	var err error
	if r.pz, err = pseudonym.NewPseudonymizer(key, r.job.Key.Domain); err != nil {
		return err
	}
	if err := lake.CleanStaging(r.job.Lake); err != nil {
		return fmt.Errorf("cleaning staging area: %w", err)
	}
	qpath := filepath.Join(r.job.Reports, "quarantine-"+r.rep.RunID+".csv")
	if r.q, err = quarantine.Create(qpath, r.rep.RunID); err != nil {
		return err
	}
	r.rep.Quarantine = qpath

	var staged []*lake.Writer
	abort := func() {
		for _, w := range staged {
			_ = w.Abort()
		}
	}
	for _, src := range r.job.Sources {
		srep := &report.Source{Name: src.Name, Schema: src.Schema.Name, Keep: src.Policy.Names(),
			Counts: report.Counts{Quarantined: map[string]int{}}}
		r.rep.Sources = append(r.rep.Sources, srep)
		files, err := inboxFiles(src.Inbox)
		if err != nil {
			abort()
			return fmt.Errorf("source %s: %w", src.Name, err)
		}
		for _, path := range files {
			if err := ctx.Err(); err != nil {
				abort()
				return err
			}
			w, frep := r.ingestFile(src, path, len(staged))
			srep.Files = append(srep.Files, frep)
			srep.Counts.Add(frep.Counts)
			if w != nil {
				staged = append(staged, w)
			}
		}
		r.rep.Totals.Add(srep.Counts)
	}
	if err := r.q.Close(); err != nil {
		abort()
		return fmt.Errorf("quarantine: %w", err)
	}
	for _, w := range staged {
		files, err := w.Commit()
		if err != nil {
			abort()
			return fmt.Errorf("committing to the lake: %w", err)
		}
		for _, f := range files {
			r.rep.LakeFiles = append(r.rep.LakeFiles, report.File{Path: f.Path, Rows: f.Rows, Bytes: f.Bytes, SHA256: f.SHA256})
		}
	}
	return nil
}

// inboxFiles lists the exports waiting in a source's inbox: regular files with
// a known extension, sorted by name. Hidden files and Excel lock files (~$…)
// are skipped; a missing inbox is an empty one.
func inboxFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") {
			continue
		}
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv", ".txt", ".tsv", ".xlsx":
			out = append(out, filepath.Join(dir, name))
		}
	}
	sort.Strings(out)
	return out, nil
}

// ingestFile reads one export into its own staged lake writer. A file is
// all-or-nothing: if it cannot be read to the end, its staged rows and its
// quarantine entries are dropped, and it is reported as rejected.
func (r *run) ingestFile(src *config.Source, path string, n int) (*lake.Writer, *report.InputFile) {
	rel, err := filepath.Rel(r.job.Inbox, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = path
	}
	rel = filepath.ToSlash(rel)
	frep := &report.InputFile{Path: rel, Status: "ok", Counts: report.Counts{Files: 1, Quarantined: map[string]int{}}}
	log := r.log.With("source", src.Name, "file", rel)
	reject := func(reason string, err error) (*lake.Writer, *report.InputFile) {
		frep.Status, frep.Reason, frep.Error = "rejected", reason, err.Error()
		frep.Counts = report.Counts{Files: 1, RejectedFiles: 1, Quarantined: map[string]int{}}
		log.Error("file rejected; it stays in the inbox", "reason", reason, "error", err.Error())
		return nil, frep
	}
	if frep.SHA256, frep.Bytes, err = hashFile(path); err != nil {
		return reject("unreadable", err)
	}
	in, err := source.Open(path, source.Options{})
	if err != nil {
		return reject(fileReason(err, "unreadable"), err)
	}
	defer in.Close()
	frep.Encoding, frep.Delimiter = in.Encoding(), string(in.Delimiter())
	b, err := src.Schema.Bind(in.Header())
	if err != nil {
		return reject("schema_drift", err)
	}
	in.Select(b.Select)

	w, err := lake.NewWriter(r.job.Lake, fmt.Sprintf("%s-%04d", r.rep.RunID, n))
	if err != nil {
		return reject("lake", err)
	}
	fr := newFileRun(r, src, b, rel)
	for {
		row, err := in.Next()
		if err == io.EOF {
			break
		}
		fr.counts.Read++
		if err != nil {
			var re *source.RowError
			if errors.As(err, &re) {
				reason := re.Reason
				if reason == "" {
					reason = ReasonMalformed
				}
				fr.quarantine(re.Line, "", reason)
				continue
			}
			_ = w.Abort()
			return reject(fileReason(err, "unreadable"), err)
		}
		p, lr, rej := fr.convert(row)
		if rej != nil {
			fr.quarantine(row.Line, rej.field, rej.reason)
			continue
		}
		if err := w.Write(p, lr); err != nil {
			_ = w.Abort()
			return reject("lake", err)
		}
		fr.counts.Accepted++
		if lr.Pseudonym == nil {
			fr.counts.Unlinked++
		}
	}
	for _, e := range fr.held {
		if err := r.q.Add(e); err != nil {
			_ = w.Abort()
			return reject("quarantine", err)
		}
	}
	frep.Counts = fr.counts
	log.Info("file read", "rows_read", fr.counts.Read, "rows_accepted", fr.counts.Accepted,
		"rows_quarantined", fr.counts.QuarantinedTotal(), "encoding", frep.Encoding)
	return w, frep
}

func fileReason(err error, def string) string {
	var fe *source.FileError
	if errors.As(err, &fe) && fe.Reason != "" {
		return fe.Reason
	}
	return def
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// fileRun holds what converting one file's rows needs.
type fileRun struct {
	*run
	src    *config.Source
	schema *schemas.Schema
	width  int
	file   string
	codes  *schemas.Codes
	// positions of the read columns in a selected row; -1 when the schema has none
	id, birth, measure, start, end, muni, recordID int
	// header names for quarantine entries
	idName, birthName, measureName, startName, endName, muniName string
	counts                                                       report.Counts
	held                                                         []quarantine.Entry
}

func newFileRun(r *run, src *config.Source, b *schemas.Binding, file string) *fileRun {
	codes, _ := schemas.LoadCodes() // already loaded and checked by config.Load
	fr := &fileRun{run: r, src: src, schema: src.Schema, width: b.Width, file: file, codes: codes,
		counts: report.Counts{Files: 1, Quarantined: map[string]int{}}}
	pos := func(holds string) (int, string) {
		i, ok := b.Pos[holds]
		if !ok {
			return -1, ""
		}
		return i, b.Names[i]
	}
	fr.id, fr.idName = pos("identifier")
	fr.birth, fr.birthName = pos("birth_date")
	fr.measure, fr.measureName = pos("measure")
	fr.start, fr.startName = pos("period_start")
	fr.end, fr.endName = pos("period_end")
	fr.muni, fr.muniName = pos("municipality")
	fr.recordID, _ = pos("record_id")
	return fr
}

func (fr *fileRun) quarantine(line int, field, reason string) {
	fr.counts.Quarantined[reason]++
	fr.held = append(fr.held, quarantine.Entry{Source: fr.src.Name, File: fr.file, Line: line, Field: field, Reason: reason})
}

type rejection struct{ field, reason string }

func field(row source.Row, i int) string {
	if i < 0 || i >= len(row.Fields) {
		return ""
	}
	return row.Fields[i]
}

// convert is the path of one row from export to lake.
func (fr *fileRun) convert(row source.Row) (lake.Partition, lake.Row, *rejection) {
	var none lake.Partition
	if row.NumFields != fr.width {
		return none, lake.Row{}, &rejection{"", ReasonFieldCount}
	}

	// 1. Who: the identifier, validated and canonicalised. The raw text goes
	//    no further than this block.
	id, rej := fr.identify(row)
	if rej != nil {
		return none, lake.Row{}, rej
	}
	linked := true
	switch id.Kind {
	case identity.Reserve:
		switch fr.src.Reserve {
		case config.Quarantine:
			return none, lake.Row{}, &rejection{fr.idName, ReasonReserve}
		case config.Unlinked:
			linked = false
		}
	case identity.BirthDate:
		switch fr.src.BirthDate {
		case config.Quarantine:
			return none, lake.Row{}, &rejection{fr.birthOrIDName(), ReasonBirthDateOnly}
		case config.Unlinked:
			linked = false
		}
	}

	// 2. What: the source's own label mapped to the shared measure code.
	label := strings.TrimSpace(field(row, fr.measure))
	if label == "" {
		return none, lake.Row{}, &rejection{fr.measureName, ReasonMissingMeasure}
	}
	measure, ok := fr.schema.MapMeasure(label)
	if !ok {
		return none, lake.Row{}, &rejection{fr.measureName, ReasonUnknownMeasure}
	}

	// 3. When: the period.
	per, err := period.Parse(field(row, fr.start), field(row, fr.end), fr.ref)
	if err != nil {
		var pe *period.Error
		errors.As(err, &pe)
		name := fr.startName
		if pe.Field == "end" {
			name = fr.endName
		}
		return none, lake.Row{}, &rejection{name, string(pe.Reason)}
	}

	// 4. Where: the municipality, from a column or the source's configuration.
	muni := fr.src.Municipality
	if fr.muni >= 0 {
		if m := strings.TrimSpace(field(row, fr.muni)); m != "" {
			if _, ok := fr.codes.Municipality(m); !ok {
				return none, lake.Row{}, &rejection{fr.muniName, ReasonBadMunicipality}
			}
			muni = m
		}
	}

	// 5. The pseudonym (none when the policy keeps the row unlinked) and a
	//    stable record key for merging later versions of the same participation.
	kind := id.Kind.String()
	out := lake.Row{
		KeyID:       fr.pz.KeyID(),
		IDKind:      kind,
		Measure:     measure,
		PeriodStart: lake.Date(per.Start),
		RunID:       fr.rep.RunID,
	}
	if linked {
		p := [16]byte(fr.pz.Pseudonym(kind, id.Canonical))
		out.Pseudonym = &p
	}
	if rid := strings.TrimSpace(field(row, fr.recordID)); fr.recordID >= 0 && rid != "" {
		out.RecordKey = [16]byte(fr.pz.RecordKey(fr.src.Name, "record_id", rid))
	} else {
		out.RecordKey = [16]byte(fr.pz.RecordKey(fr.src.Name, kind, id.Canonical, measure, per.Start.Format("20060102")))
	}
	if !per.Ongoing() {
		e := lake.Date(per.End)
		out.PeriodEnd = &e
	}

	// 6. Minimise: only the attributes the policy declares.
	attrs := fr.src.Policy.Derive(id, per.Start, muni)
	out.Sex, out.AgeBand, out.Municipality = attrs.Sex, attrs.AgeBand, attrs.Municipality

	return lake.Partition{Source: fr.src.Name, StartYear: per.Start.Year()}, out, nil
}

// identify reads the identifier column, or the birth date column when the
// identifier is empty and the schema has one.
func (fr *fileRun) identify(row source.Row) (identity.ID, *rejection) {
	text := field(row, fr.id)
	if strings.TrimSpace(text) == "" && fr.birth >= 0 {
		bd := field(row, fr.birth)
		if strings.TrimSpace(bd) != "" {
			id, err := identity.ParseBirthDate(bd, fr.ref)
			if err != nil {
				return id, &rejection{fr.birthName, reasonOf(err)}
			}
			return id, nil
		}
	}
	if fr.id < 0 {
		return identity.ID{}, &rejection{fr.birthName, string(identity.ReasonEmpty)}
	}
	id, err := identity.Parse(text, fr.ref)
	if err != nil {
		return id, &rejection{fr.idName, reasonOf(err)}
	}
	return id, nil
}

func (fr *fileRun) birthOrIDName() string {
	if fr.birthName != "" {
		return fr.birthName
	}
	return fr.idName
}

func reasonOf(err error) string {
	var ie *identity.Error
	if errors.As(err, &ie) {
		return string(ie.Reason)
	}
	return string(identity.ReasonFormat)
}
