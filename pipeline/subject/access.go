package subject

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/lakeop"
	"github.com/gallra/gallra/schemas"
)

// Kinds of the lake operations in the run log.
const (
	KindAccess = "subject-access"
	KindErase  = "subject-erase"
)

// Options for Access and Erase.
type Options struct {
	// Reference is the request's case number, recorded in the run log.
	// Required by Erase, optional for Access; see CheckReference.
	Reference string
	// DryRun (Erase only) finds and counts, and changes nothing.
	DryRun bool
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Logger gets counts, never values (slog.Default if nil).
	Logger *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// Notes every access report carries.
var accessNotes = []string{
	"These are the rows the lake holds about the person in its pseudonymised tier. The lake stores no name and no identity number: the rows were found by recomputing the person's keyed pseudonym from the identity number in the request. / Detta är de rader som sjön har om personen i sin pseudonymiserade del. Sjön lagrar inget namn och inget person- eller samordningsnummer: raderna hittades genom att personens nyckelade pseudonym räknades om från numret i begäran.",
	"Rows already anonymised (the anonymised tier) and frozen aggregate statistics hold no link to a person: they cannot be found from an identity number, and they are not listed here. / Rader som redan har anonymiserats och frysta sammanräknade statistikuppgifter saknar koppling till person: de kan inte hittas från ett nummer och redovisas inte här.",
	"Source is the participant system the row came from; measure is a code of the shared measure list with its Swedish name; sex, age band and municipality appear only where the source's policy keeps them. / Källa är det verksamhetssystem raden kommer från; insats är en kod i den gemensamma kodlistan med sitt svenska namn; kön, åldersgrupp och kommun finns bara där källans policy behåller dem.",
}

// AccessReport is the answer to an access request. It refers to persons by
// request line number and holds no identifier and no pseudonym. It is
// personal data about the data subject: write it where only they and the
// controller can read it (WriteFile uses mode 0600).
type AccessReport struct {
	Made       time.Time    `json:"made"`
	RunID      string       `json:"run_id"` // the request's entry in the lake's run log
	Reference  string       `json:"reference,omitempty"`
	Generation int64        `json:"lake_generation"`
	Lines      []AccessLine `json:"request_lines"`
	Notes      []string     `json:"notes"`
	// Log is the run-log entry (counts only).
	Log *lakeop.Log `json:"-"`
}

// AccessLine is what the lake holds about the person of one request line,
// its rows sorted by source, period start and measure.
type AccessLine struct {
	Line   int         `json:"request_line"`
	Kind   string      `json:"identifier_kind"`               // personnummer | samordningsnummer
	SameAs int         `json:"same_person_as_line,omitempty"` // the same person as an earlier line
	Rows   []AccessRow `json:"rows"`
}

// AccessRow is one participation in the pseudonymised tier.
type AccessRow struct {
	Source           string `json:"source"`
	Measure          string `json:"measure"`
	MeasureLabel     string `json:"measure_label"`
	PeriodStart      string `json:"period_start"`
	PeriodEnd        string `json:"period_end"` // "" while ongoing
	Sex              string `json:"sex,omitempty"`
	AgeBand          string `json:"age_band,omitempty"`
	Municipality     string `json:"municipality,omitempty"`
	MunicipalityName string `json:"municipality_name,omitempty"`
}

// Access finds the rows of the request's persons in the pseudonymised tier
// of job's lake. It runs as a lake operation of kind "subject-access" that
// commits nothing, so that the request is in the run log with its
// reference (if given) and counts: persons_requested, persons_found,
// rows_reported.
func Access(ctx context.Context, job *config.Job, q *Request, opt Options) (*AccessReport, error) {
	if opt.Reference != "" {
		if err := CheckReference(opt.Reference); err != nil {
			return nil, err
		}
	}
	codes, err := schemas.LoadCodes()
	if err != nil {
		return nil, err
	}
	rep := &AccessReport{Reference: opt.Reference, Notes: accessNotes}
	log, err := lakeop.Do(ctx, job.Lake, func(ctx context.Context, tx *lakeop.Tx) error {
		found, other, err := find(tx.Lake, tx.Base, q)
		if err != nil {
			return err
		}
		byLine := make([][]AccessRow, len(q.Lines))
		persons := map[int]bool{}
		for _, m := range found {
			byLine[m.line] = append(byLine[m.line], accessRow(codes, m))
			persons[m.line] = true
		}
		for _, rows := range byLine {
			slices.SortStableFunc(rows, func(a, b AccessRow) int {
				return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.PeriodStart, b.PeriodStart),
					strings.Compare(a.Measure, b.Measure), strings.Compare(a.PeriodEnd, b.PeriodEnd))
			})
		}
		for i, l := range q.Lines {
			rows := byLine[i]
			if l.SameAs != 0 {
				rows = byLine[firstIndex(q, l.SameAs)]
			}
			if rows == nil {
				rows = []AccessRow{}
			}
			rep.Lines = append(rep.Lines, AccessLine{Line: l.Line, Kind: l.Kind.String(), SameAs: l.SameAs, Rows: rows})
		}
		tx.Log.Count("persons_requested", int64(q.Persons()))
		tx.Log.Count("persons_found", int64(len(persons)))
		tx.Log.Count("rows_reported", int64(len(found)))
		tx.Log.Count("rows_under_other_keys", other)
		return nil
	}, lakeop.Options{Kind: KindAccess, Reference: opt.Reference, KeyID: q.KeyID, Now: opt.Now, Logger: opt.Logger})
	if log != nil {
		rep.Made, rep.RunID, rep.Generation, rep.Log = log.Finished, log.RunID, log.Generation, log
		opt.logger().Info("subject access", "run_id", log.RunID, "outcome", log.Outcome,
			"persons_requested", log.Counts["persons_requested"], "persons_found", log.Counts["persons_found"],
			"rows_reported", log.Counts["rows_reported"])
		if n := log.Counts["rows_under_other_keys"]; n > 0 {
			opt.logger().Warn("the lake holds linked rows made with another key; this key cannot find its persons there",
				"rows_under_other_keys", n, "key_id", q.KeyID)
		}
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// firstIndex returns the index in q.Lines of request line n.
func firstIndex(q *Request, n int) int {
	for i, l := range q.Lines {
		if l.Line == n {
			return i
		}
	}
	return 0
}

func accessRow(codes *schemas.Codes, m match) AccessRow {
	r := m.row
	out := AccessRow{Source: m.p.Source, Measure: r.Measure, PeriodStart: lake.DateOf(r.PeriodStart).Format(time.DateOnly)}
	if ms, ok := codes.Measure(r.Measure); ok {
		out.MeasureLabel = ms.SV
	}
	if r.PeriodEnd != nil {
		out.PeriodEnd = lake.DateOf(*r.PeriodEnd).Format(time.DateOnly)
	}
	if r.Sex != nil {
		out.Sex = *r.Sex
	}
	if r.AgeBand != nil {
		out.AgeBand = *r.AgeBand
	}
	if r.Municipality != nil {
		out.Municipality = *r.Municipality
		out.MunicipalityName, _ = codes.Municipality(*r.Municipality)
	}
	return out
}

// Rows returns the number of rows the report lists for distinct persons
// (a line naming the same person as an earlier line is not counted again).
func (a *AccessReport) Rows() int {
	n := 0
	for _, l := range a.Lines {
		if l.SameAs == 0 {
			n += len(l.Rows)
		}
	}
	return n
}

// Formats of an access report file.
const (
	FormatJSON = "json"
	FormatText = "text"
	FormatCSV  = "csv"
)

// FormatOf returns the format a file name asks for: json for ".json", csv
// for ".csv", text otherwise.
func FormatOf(path string) string {
	switch {
	case strings.HasSuffix(strings.ToLower(path), ".json"):
		return FormatJSON
	case strings.HasSuffix(strings.ToLower(path), ".csv"):
		return FormatCSV
	}
	return FormatText
}

// Write writes the report in format (FormatJSON, FormatText or FormatCSV).
func (a *AccessReport) Write(w io.Writer, format string) error {
	switch format {
	case FormatJSON:
		b, err := json.MarshalIndent(a, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case FormatCSV:
		return a.writeCSV(w)
	case FormatText:
		return a.writeText(w)
	}
	return fmt.Errorf("subject: unknown report format %q (want json, text or csv)", format)
}

// CSVHeader is the header of the CSV form: one record per row; a request
// line without rows has one record with rows = 0 and the rest empty.
var CSVHeader = []string{"request_line", "same_person_as_line", "rows", "source", "measure", "measure_label",
	"period_start", "period_end", "sex", "age_band", "municipality", "municipality_name"}

func (a *AccessReport) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	for _, l := range a.Lines {
		same := ""
		if l.SameAs != 0 {
			same = strconv.Itoa(l.SameAs)
		}
		n := strconv.Itoa(len(l.Rows))
		if len(l.Rows) == 0 {
			_ = cw.Write([]string{strconv.Itoa(l.Line), same, n, "", "", "", "", "", "", "", "", ""})
		}
		for _, r := range l.Rows {
			_ = cw.Write([]string{strconv.Itoa(l.Line), same, n, r.Source, r.Measure, r.MeasureLabel,
				r.PeriodStart, r.PeriodEnd, r.Sex, r.AgeBand, r.Municipality, r.MunicipalityName})
		}
	}
	cw.Flush()
	return cw.Error()
}

func (a *AccessReport) writeText(w io.Writer) error {
	var b strings.Builder
	b.WriteString("Registerutdrag ur gallra-sjön / Data-subject access report\n")
	fmt.Fprintf(&b, "Made: %s   Lake generation: %d   Run log entry: %s\n", a.Made.Format(time.RFC3339), a.Generation, a.RunID)
	if a.Reference != "" {
		fmt.Fprintf(&b, "Reference / Ärende: %s\n", a.Reference)
	}
	for _, l := range a.Lines {
		fmt.Fprintf(&b, "\nRequest line %d (%s)", l.Line, l.Kind)
		if l.SameAs != 0 {
			fmt.Fprintf(&b, ", the same person as line %d", l.SameAs)
		}
		if len(l.Rows) == 0 {
			b.WriteString(": no rows in the pseudonymised tier / inga rader\n")
			continue
		}
		fmt.Fprintf(&b, ": %d row(s) / rad(er)\n", len(l.Rows))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  source\tmeasure\tlabel\tperiod_start\tperiod_end\tsex\tage_band\tmunicipality")
		for _, r := range l.Rows {
			end := r.PeriodEnd
			if end == "" {
				end = "(ongoing / pågår)"
			}
			muni := r.Municipality
			if r.MunicipalityName != "" {
				muni += " " + r.MunicipalityName
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Source, r.Measure, r.MeasureLabel, r.PeriodStart, end,
				dash(r.Sex), dash(r.AgeBand), dash(muni))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("\nNotes / Upplysningar\n")
	for _, n := range a.Notes {
		b.WriteString("- ")
		b.WriteString(n)
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteFile writes the report to a new file at path, readable and writable
// by its owner only (mode 0600): it is personal data about the data
// subject. It refuses to replace an existing file.
func (a *AccessReport) WriteFile(path, format string) (err error) {
	var buf strings.Builder
	if err := a.Write(&buf, format); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("subject: access report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("subject: access report: %w", err)
	}
	if _, err := io.WriteString(f, buf.String()); err != nil {
		return fmt.Errorf("subject: access report: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("subject: access report: %w", err)
	}
	return f.Close()
}
