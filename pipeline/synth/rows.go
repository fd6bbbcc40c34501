package synth

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// row is one data row before it is rendered into the schema's columns.
type row struct {
	p         *person
	id        string // identifier cell
	birth     string // birth-date cell
	label     string // measure label cell
	code      string // shared measure code when the row is valid
	per       term
	startText string // replaces the start date (bad_date)
	padStart  bool   // spaces around the start date
	extra     string // a field after the last column (field_count)
	kommun    string
}

// generateSource makes and writes one source's rows and returns its report.
func (g *gen) generateSource(outDir, stamp string, s *source) (*SourceReport, error) {
	sr := &SourceReport{Messy: map[string]int{}, Measures: map[string]int{}}
	n := s.rows

	// How many rows of each kind.
	messy := g.messyPlan(s, int(float64(n)*g.opt.MessyShare+0.5))
	nMessy := 0
	for _, m := range messy {
		nMessy += m.n
	}
	nReserve, nBirth, nPlus := 0, 0, 0
	if s.prof.reserve != noReserve {
		nReserve = onePercent(n)
	}
	if s.birthRead {
		nBirth = onePercent(n)
	}
	if s.prof.plusForms {
		nPlus = min(5, n/200)
	}
	if nMessy+nReserve+nBirth > n { // tiny exports: drop the extras first
		nReserve, nBirth = 0, 0
		for nMessy > n {
			messy = messy[:len(messy)-1]
			nMessy = 0
			for _, m := range messy {
				nMessy += m.n
			}
		}
	}
	nValid := n - nMessy - nReserve - nBirth
	nPlus = min(nPlus, nValid)

	rows := make([]*row, 0, n)
	persons := map[string]bool{}
	addValid := func(p *person, per term, id string) {
		r := g.baseRow(s, p, per)
		r.id = id
		r.code = s.schema.Measures[r.label]
		if g.r.IntN(200) == 0 {
			r.label = pad(g.r.IntN(3), r.label)
		}
		if g.r.IntN(200) == 0 {
			r.padStart = true
		}
		rows = append(rows, r)
		persons[p.canon] = true
		sr.Measures[r.code]++
		if !s.used[p.canon] {
			s.used[p.canon] = true
			g.validBy[s.schema.Name] = append(g.validBy[s.schema.Name], p)
		}
	}

	// '+' forms: a handful of persons aged 100 or more, whatever the measure.
	for _, p := range g.centenarians(s, nPlus) {
		for _, per := range g.chainIn(s, g.refStart, g.ref, 1) {
			addValid(p, per, format(p.canon, form10Plus))
		}
	}
	for left := nValid - len(rows); left > 0; left = nValid - len(rows) {
		p := g.recurring(s)
		if p == nil {
			p = g.newPerson(g.freshEntry(s), g.homeKommun(s))
		}
		for _, per := range g.chain(s, p.birth, min(g.drawK(s), left)) {
			addValid(p, per, g.validID(s, p))
		}
	}
	sr.Valid = len(rows)
	sr.Persons = len(persons)

	// Reserve numbers, one or two rows each.
	for sr.Reserve < nReserve {
		p, id := g.reservePerson(s)
		pers := g.chain(s, p.birth, min(1+g.r.IntN(2), nReserve-sr.Reserve))
		for _, per := range pers {
			r := g.baseRow(s, p, per)
			r.id = id
			rows = append(rows, r)
			sr.Reserve++
		}
		if len(pers) > 0 {
			sr.ReservePersons++
		}
	}
	// Birth date only.
	for sr.BirthDateOnly < nBirth {
		p := g.throwaway(s)
		for _, per := range g.chain(s, p.birth, 1) {
			r := g.baseRow(s, p, per)
			r.birth = p.birth.Format(s.layout)
			rows = append(rows, r)
			sr.BirthDateOnly++
		}
	}
	// Messy rows, one defect each.
	for _, m := range messy {
		for i := 0; i < m.n; i++ {
			rows = append(rows, g.messyRow(s, m.reason))
		}
		sr.Messy[m.reason] += m.n
	}
	sr.Rows = len(rows)
	if sr.Rows != n || sr.Valid+sr.Reserve+sr.BirthDateOnly+sr.MessyTotal() != n {
		return nil, fmt.Errorf("synth: %s: internal error: planned %d rows, made %d", s.schema.Name, n, sr.Rows)
	}
	g.r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })

	base := fmt.Sprintf("%s-export-%s", s.schema.Name, stamp)
	fr, err := g.writeFile(outDir, s, base, rows, false)
	if err != nil {
		return nil, err
	}
	sr.Files = append(sr.Files, fr)

	if s.drifted && len(rows) > 0 {
		// The same system after an upgrade: recent rows again, with a new
		// column the schema does not know.
		nd := max(10, n/30)
		drifted := make([]*row, 0, nd)
		for len(drifted) < nd {
			r := *rows[g.r.IntN(len(rows))]
			r.extra = ""
			drifted = append(drifted, &r)
		}
		fr, err := g.writeFile(outDir, s, base+"-v2", drifted, true)
		if err != nil {
			return nil, err
		}
		sr.Files = append(sr.Files, fr)
		sr.DriftedRows = fr.Rows
	}
	return sr, nil
}

// onePercent is about one row in a hundred, at least one for exports of a
// hundred rows or more.
func onePercent(n int) int {
	if n < 100 {
		return 0
	}
	return max(1, (n+50)/100)
}

// pad puts stray spaces around s, as hand-edited exports have.
func pad(style int, s string) string {
	switch style {
	case 0:
		return " " + s
	case 1:
		return s + " "
	}
	return "  " + s + " "
}

// baseRow is a row for p in period per with a drawn measure label.
func (g *gen) baseRow(s *source, p *person, per term) *row {
	r := &row{p: p, per: per, label: s.pickLabel(g.r), kommun: p.kommun}
	if p.canon != "" && !p.sam && s.birthRead && g.r.IntN(2) == 0 {
		r.birth = p.birth.Format(s.layout)
	}
	return r
}

// validID writes p's identifier the way the source mostly does, and now
// and then in another accepted spelling.
func (g *gen) validID(s *source, p *person) string {
	f := s.prof.form
	young := ageAt(p.birth, g.ref) < 95
	u := g.r.IntN(1000)
	switch {
	case u < 20 && young:
		f = form10Dash
	case u < 35 && young:
		f = form10
	case u >= 35 && u < 55:
		if f == form12 {
			f = form12Dash
		} else {
			f = form12
		}
	}
	id := format(p.canon, f)
	if u >= 55 && u < 65 {
		id = pad(g.r.IntN(3), id)
	}
	return id
}

// centenarians returns up to n persons aged 101 to 115 at the reference
// date, for the '+' form.
func (g *gen) centenarians(s *source, n int) []*person {
	if n == 0 {
		return nil
	}
	var idx []int
	for i, e := range g.pnr {
		if a := g.ref.Year() - e.birth.Year(); a >= 101 && a <= 115 && !g.taken[e.canon] {
			idx = append(idx, i)
		}
	}
	g.r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	out := make([]*person, 0, n)
	for _, i := range idx[:min(n, len(idx))] {
		out = append(out, g.newPerson(g.pnr[i], g.homeKommun(s)))
	}
	return out
}

// reservePerson makes a person known only by a reserve number of the
// source's style, unique in the run.
func (g *gen) reservePerson(s *source) (*person, string) {
	for {
		p := g.throwaway(s)
		var id string
		b := p.birth
		if s.prof.reserve == schoolReserve {
			id = fmt.Sprintf("%s-TF%02d", b.Format("20060102"), 1+g.r.IntN(99))
		} else {
			id = fmt.Sprintf("%s-%c%03d", b.Format("060102"), "TRSUWXJKLMN"[g.r.IntN(11)], g.r.IntN(1000))
		}
		if !g.reserves[id] {
			g.reserves[id] = true
			return p, id
		}
	}
}

// messyCount is how many rows get one reason.
type messyCount struct {
	reason string
	n      int
}

// messyPlan spreads m messy rows over the reasons that apply to s.
func (g *gen) messyPlan(s *source, m int) []messyCount {
	reasons := []string{ReasonBadCheckDigit, ReasonImpossibleDate, ReasonEmpty, ReasonUnknownMeasure, ReasonBadDate}
	if s.hasEnd {
		reasons = append(reasons, ReasonEndBeforeStart)
	}
	if s.format == "csv" {
		reasons = append(reasons, ReasonFieldCount)
	}
	if s.excel {
		reasons = append(reasons, ReasonExcelScientific)
		if len(g.leadingZero) > 0 {
			reasons = append(reasons, ReasonExcelLeadingZero)
		}
	}
	out := make([]messyCount, len(reasons))
	for i, r := range reasons {
		out[i] = messyCount{r, m / len(reasons)}
	}
	for _, i := range g.r.Perm(len(reasons))[:m%len(reasons)] {
		out[i].n++
	}
	return slices.DeleteFunc(out, func(c messyCount) bool { return c.n == 0 })
}

// messyRow makes a row with exactly one defect, the one reason names.
func (g *gen) messyRow(s *source, reason string) *row {
	// Most defects sit on an otherwise ordinary row of a known participant.
	var p *person
	if list := g.validBy[s.schema.Name]; len(list) > 0 {
		p = list[g.r.IntN(len(list))]
	} else {
		p = g.newPerson(g.freshEntry(s), g.homeKommun(s))
	}
	var pers []term
	for len(pers) == 0 {
		pers = g.chainIn(s, g.refStart, g.ref, 1)
	}
	r := g.baseRow(s, p, pers[0])
	r.id = format(p.canon, s.prof.form)
	switch reason {
	case ReasonBadCheckDigit:
		r.id = format(badCheckDigit(g.r, p.canon), s.prof.form)
	case ReasonImpossibleDate:
		r.p = g.throwaway(s)
		r.birth = ""
		r.id = format(impossibleDate(g.r, r.p.birth.Year()), s.prof.form)
	case ReasonExcelScientific:
		r.id = excelScientific(p.canon)
	case ReasonExcelLeadingZero:
		e := g.pnr[pick(g.r, g.leadingZero)]
		r.id = strings.TrimLeft(e.canon[2:], "0")
	case ReasonEmpty:
		r.p = g.throwaway(s)
		r.id, r.birth = "", ""
	case ReasonUnknownMeasure:
		r.label = g.unknownLabel(s)
	case ReasonBadDate:
		r.startText = pick(g.r, badDates)
	case ReasonEndBeforeStart:
		r.per.ongoing = false
		r.per.end = addDays(r.per.start, -1-g.r.IntN(90))
	case ReasonFieldCount:
		r.extra = pick(g.r, extraFields)
	}
	return r
}

// unknownLabel returns a label that s does not map, compared as leniently
// as any reader might (trimmed, case-folded).
func (g *gen) unknownLabel(s *source) string {
	start := g.r.IntN(len(unknownLabels))
	for i := range unknownLabels {
		l := unknownLabels[(start+i)%len(unknownLabels)]
		known := false
		for k := range s.schema.Measures {
			known = known || strings.EqualFold(strings.TrimSpace(k), l)
		}
		if !known {
			return l
		}
	}
	return "Okänd insats " + s.schema.Name + " (utgången kod)"
}

// dateText renders a date cell.
func (s *source) dateText(t time.Time) string { return t.Format(s.layout) }
