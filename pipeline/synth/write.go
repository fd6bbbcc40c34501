package synth

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// driftColumn is the column a system upgrade added to one export.
const driftColumn = "Kommentar"

// recordWriter writes the records of one export file.
type recordWriter interface {
	Write(rec []string) error
	Close() error
}

// writeFile writes rows as outDir/<source>/<base>.<csv|xlsx>.
func (g *gen) writeFile(outDir string, s *source, base string, rows []*row, drifted bool) (FileReport, error) {
	name := s.schema.Name
	rel := path.Join(name, base+"."+s.format)
	fr := FileReport{Path: rel, Rows: len(rows), Format: s.format, Drifted: drifted}
	if err := os.MkdirAll(filepath.Join(outDir, name), 0o755); err != nil {
		return fr, fmt.Errorf("synth: %w", err)
	}
	full := filepath.Join(outDir, filepath.FromSlash(rel))
	var w recordWriter
	var err error
	if s.format == "xlsx" {
		w, err = newXLSXWriter(full)
	} else {
		fr.Encoding, fr.Delimiter = s.encoding, string(s.comma)
		w, err = newCSVWriter(full, s.comma, s.encoding)
	}
	if err != nil {
		return fr, fmt.Errorf("synth: %s: %w", rel, err)
	}
	header := make([]string, 0, len(s.schema.Columns)+1)
	for _, c := range s.schema.Columns {
		header = append(header, c.Name)
	}
	if drifted {
		header = append(header, driftColumn)
	}
	werr := w.Write(header)
	seq := 100000 + g.r.IntN(800000)
	for i, r := range rows {
		if werr != nil {
			break
		}
		rec := g.render(s, r, seq+i)
		if drifted {
			c := ""
			if g.r.IntN(8) == 0 {
				c = pick(g.r, []string{"Överförd från tidigare system", "Kontrollera period", "Ny handläggare", "Dubblett?"})
			}
			rec = append(rec, c)
		}
		werr = w.Write(rec)
	}
	if err := w.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fr, fmt.Errorf("synth: writing %s: %w", rel, werr)
	}
	return fr, nil
}

// render fills every column of the schema for one row.
func (g *gen) render(s *source, r *row, seq int) []string {
	v := vocab()
	p := r.p
	rec := make([]string, len(s.schema.Columns), len(s.schema.Columns)+1)
	for i, c := range s.schema.Columns {
		var val string
		switch c.Holds {
		case "identifier":
			val = r.id
		case "birth_date":
			val = r.birth
		case "first_name":
			val = p.first
		case "last_name":
			val = p.last
		case "full_name":
			if s.prof.nameLastFirst {
				val = p.last + ", " + p.first
			} else {
				val = p.first + " " + p.last
			}
		case "username":
			val = p.username
		case "email":
			val = p.email
		case "phone":
			val = g.phone(p)
		case "address":
			val = p.street
		case "postcode":
			val = p.postcode
		case "city":
			val = p.city
		case "health":
			if g.r.IntN(5) < 3 {
				val = pick(g.r, v.health)
			}
		case "free_text":
			if g.r.IntN(5) < 4 {
				val = pick(g.r, v.notes)
			}
		case "measure":
			if i == s.measureCol {
				val = r.label
			} else {
				val = programCode(s.schema.Measures[strings.TrimSpace(r.label)])
			}
		case "period_start":
			val = r.startText
			if val == "" {
				val = s.dateText(r.per.start)
			}
			if r.padStart {
				val = pad(1, val)
			}
		case "period_end":
			if !r.per.ongoing {
				val = s.dateText(r.per.end)
			}
		case "municipality":
			val = r.kommun
		case "record_id":
			val = fmt.Sprintf(s.prof.recordFmt, seq)
		case "unit":
			val = pick(g.r, s.prof.units)
		case "occupation":
			val = pick(g.r, occupations)
		case "employer":
			val = g.company()
		case "org_number":
			nine := fmt.Sprintf("559%06d", g.r.IntN(1000000))
			val = nine[:6] + "-" + nine[6:] + string(checkDigit(nine))
		case "case_worker":
			val = g.anyName()
		case "decision_date":
			val = s.dateText(addDays(r.per.start, -g.r.IntN(31)))
		case "attendance":
			val = fmt.Sprint(4 * (1 + g.r.IntN(120)))
			if g.r.IntN(3) == 0 {
				val += ",5"
			}
		case "status":
			if r.per.ongoing {
				val = pick(g.r, orDefault(s.prof.statusActive, defaultStatusActive))
			} else {
				val = pick(g.r, orDefault(s.prof.statusEnded, defaultStatusEnded))
			}
		case "sex":
			val = string(p.sex)
		case "relative_contact":
			mobile := fmt.Sprintf("07017406%02d", 5+g.r.IntN(95))
			val = fmt.Sprintf("%s: %s, %s", pick(g.r, relatives), g.anyName(), formatMobile(mobile, g.r.IntN(4)))
		case "allergy":
			val = pick(g.r, allergies)
		case "language":
			val = pick(g.r, languages)
		}
		rec[i] = val
	}
	if r.extra != "" {
		rec = append(rec, r.extra)
	}
	return rec
}

func orDefault(list, def []string) []string {
	if len(list) == 0 {
		return def
	}
	return list
}

// programCode is the short code an Arbetsförmedlingen export writes next to
// the programme name.
func programCode(code string) string {
	switch code {
	case "":
		return "ÖVR"
	case "ARBETSMARKNADSUTBILDNING":
		return "AUB"
	case "FORBEREDANDE_UTBILDNING":
		return "FUB"
	case "NYSTARTSJOBB":
		return "NSJ"
	case "LONEBIDRAG":
		return "LBI"
	case "JOBBGARANTI_UNGDOM":
		return "UGA"
	case "JOBB_UTVECKLINGSGARANTI", "JOB_GARANTI":
		return "JOB"
	case "ETABLERING":
		return "ETB"
	case "SARSKILT_ANSTALLNINGSSTOD":
		return "SAS"
	}
	return code[:min(3, len(code))]
}

func (g *gen) anyName() string {
	v := vocab()
	first := v.femaleNames
	if g.r.IntN(2) == 0 {
		first = v.maleNames
	}
	return pick(g.r, first) + " " + pick(g.r, v.surnames)
}

func (g *gen) company() string {
	if g.r.IntN(3) == 0 {
		b := pick(g.r, companyB)
		return pick(g.r, vocab().surnames) + "s " + strings.ToUpper(b[:1]) + b[1:] + " AB"
	}
	return pick(g.r, companyA) + pick(g.r, companyB) + pick(g.r, companyC)
}

// phone writes p's mobile or landline number in one of the ways people
// type them.
func (g *gen) phone(p *person) string {
	if g.r.IntN(7) == 0 {
		area, rest := p.landline[:p.areaLen], p.landline[p.areaLen:]
		switch len(rest) {
		case 8:
			rest = rest[:3] + " " + rest[3:6] + " " + rest[6:]
		case 7:
			rest = rest[:3] + " " + rest[3:5] + " " + rest[5:]
		case 6:
			rest = rest[:3] + " " + rest[3:]
		}
		return area + "-" + rest
	}
	return formatMobile(p.mobile, g.r.IntN(5))
}

// formatMobile writes a 10-digit mobile number: 070-123 45 67, 0701234567,
// +46 70 123 45 67, 070-1234567 or +46701234567.
func formatMobile(m string, style int) string {
	switch style {
	case 0:
		return m[:3] + "-" + m[3:6] + " " + m[6:8] + " " + m[8:]
	case 1:
		return m
	case 2:
		return "+46 " + m[1:3] + " " + m[3:6] + " " + m[6:8] + " " + m[8:]
	case 3:
		return m[:3] + "-" + m[3:]
	}
	return "+46" + m[1:]
}

// writeWith creates the file name (mode 0644) and fills it with write.
func writeWith(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	err = write(f)
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}

// csvWriter writes CSV in the schema's delimiter and encoding.
type csvWriter struct {
	f   *os.File
	buf *bufio.Writer
	enc io.WriteCloser // windows-1252 encoder, or nil
	w   *csv.Writer
}

func newCSVWriter(name string, comma rune, encoding string) (*csvWriter, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	cw := &csvWriter{f: f, buf: bufio.NewWriterSize(f, 64<<10)}
	var out io.Writer = cw.buf
	switch encoding {
	case "utf-8-bom":
		cw.buf.WriteString("\uFEFF")
	case "windows-1252":
		cw.enc = transform.NewWriter(cw.buf, charmap.Windows1252.NewEncoder())
		out = cw.enc
	}
	cw.w = csv.NewWriter(out)
	cw.w.Comma = comma
	cw.w.UseCRLF = encoding != "utf-8" // exports made on Windows
	return cw, nil
}

func (c *csvWriter) Write(rec []string) error { return c.w.Write(rec) }

func (c *csvWriter) Close() error {
	c.w.Flush()
	err := c.w.Error()
	if c.enc != nil {
		if e := c.enc.Close(); err == nil {
			err = e
		}
	}
	if e := c.buf.Flush(); err == nil {
		err = e
	}
	if e := c.f.Close(); err == nil {
		err = e
	}
	return err
}

// xlsxWriter writes one worksheet with excelize's streaming writer.
type xlsxWriter struct {
	name string
	f    *excelize.File
	sw   *excelize.StreamWriter
	row  int
	vals []any
}

// sheetName is the worksheet name Swedish Excel gives a new workbook.
const sheetName = "Blad1"

func newXLSXWriter(name string) (*xlsxWriter, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheetName); err != nil {
		f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheetName)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &xlsxWriter{name: name, f: f, sw: sw}, nil
}

func (x *xlsxWriter) Write(rec []string) error {
	x.row++
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	x.vals = x.vals[:0]
	for _, v := range rec {
		x.vals = append(x.vals, v)
	}
	return x.sw.SetRow(cell, x.vals)
}

func (x *xlsxWriter) Close() error {
	err := x.sw.Flush()
	if err == nil {
		err = writeWith(x.name, func(w io.Writer) error { return x.f.Write(w) })
	}
	if e := x.f.Close(); err == nil {
		err = e
	}
	return err
}
