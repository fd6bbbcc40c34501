package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gallra/gallra/schemas"
)

// gen is the state of one Generate call. Everything random comes from r, in
// a fixed order, so that a seed determines every byte.
type gen struct {
	opt      Options
	ref      time.Time // Options.Reference at UTC midnight
	refStart time.Time // no period starts before this
	r        *rand.Rand

	pnr, sam    []poolEntry
	leadingZero []int // indexes into pnr of persons born 2001-2009
	taken       map[string]bool
	validBy     map[string][]*person // per source: persons with valid rows
	reserves    map[string]bool
	synthesised int
}

func newGen(opt Options) (*gen, error) {
	g := &gen{
		opt:      opt,
		ref:      opt.Reference,
		refStart: opt.Reference.AddDate(-opt.Years, 0, 1),
		r:        newRand(opt.Seed),
		taken:    map[string]bool{},
		validBy:  map[string][]*person{},
		reserves: map[string]bool{},
	}
	var err error
	if g.pnr, g.sam, err = loadPool(g.ref); err != nil {
		return nil, err
	}
	for i, e := range g.pnr {
		if y := e.birth.Year(); y >= 2001 && y <= 2009 {
			g.leadingZero = append(g.leadingZero, i)
		}
	}
	return g, nil
}

// source is one schema with what the generator derived from it.
type source struct {
	schema   *schemas.Schema
	prof     profile
	layout   string // Go date layout
	format   string // csv or xlsx
	comma    rune
	encoding string
	summer   bool // periods are summer jobs

	idCol      int // first identifier column
	birthRead  bool
	measureCol int // the read measure column, -1 if none
	hasStart   bool
	hasEnd     bool
	labels     []string  // measure labels, most common first
	cumWeights []float64 // cumulative label weights

	rows    int  // planned rows in the export the pipeline reads
	excel   bool // the export went through a spreadsheet
	drifted bool // also write a drifted file

	used             map[string]bool // canonicals with valid rows here
	pnrCand, samCand []int
	pnrPos, samPos   int
	candidatesBuilt  bool
}

func newSource(s *schemas.Schema, opt Options) (*source, error) {
	src := &source{
		schema:     s,
		prof:       defaultProfile,
		layout:     s.DateFormat,
		format:     strings.ToLower(strings.TrimSpace(s.Format)),
		comma:      ';',
		encoding:   strings.ToLower(strings.TrimSpace(s.Encoding)),
		idCol:      -1,
		measureCol: -1,
		used:       map[string]bool{},
	}
	if p, ok := profiles[s.Name]; ok {
		src.prof = p
	}
	if src.layout == "" {
		src.layout = time.DateOnly
	}
	if src.format == "" {
		src.format = "csv"
	}
	if src.format != "csv" && src.format != "xlsx" {
		return nil, fmt.Errorf("synth: schema %s: format %q is neither csv nor xlsx", s.Name, s.Format)
	}
	if src.encoding == "" {
		src.encoding = "utf-8"
	}
	switch src.encoding {
	case "utf-8", "utf-8-bom", "windows-1252":
	default:
		return nil, fmt.Errorf("synth: schema %s: encoding %q is not utf-8, utf-8-bom or windows-1252", s.Name, s.Encoding)
	}
	if d := s.Delimiter; d != "" {
		if d == `\t` || strings.EqualFold(d, "tab") {
			d = "\t"
		}
		r, n := utf8.DecodeRuneInString(d)
		if n != len(d) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
			return nil, fmt.Errorf("synth: schema %s: delimiter %q is not one character", s.Name, s.Delimiter)
		}
		src.comma = r
	}
	for i, c := range s.Columns {
		if !knownHolds[c.Holds] {
			return nil, fmt.Errorf("synth: schema %s column %q: holds %q is not in the vocabulary", s.Name, c.Name, c.Holds)
		}
		switch c.Holds {
		case "identifier":
			if src.idCol < 0 {
				src.idCol = i
			}
		case "birth_date":
			src.birthRead = src.birthRead || c.Read
		case "measure":
			if c.Read && src.measureCol < 0 {
				src.measureCol = i
			}
		case "period_start":
			src.hasStart = src.hasStart || c.Read
		case "period_end":
			src.hasEnd = src.hasEnd || c.Read
		}
	}
	if src.idCol < 0 {
		return nil, fmt.Errorf("synth: schema %s has no identifier column", s.Name)
	}
	if src.measureCol < 0 || !src.hasStart {
		return nil, fmt.Errorf("synth: schema %s has no read measure or period_start column", s.Name)
	}
	if len(s.Measures) == 0 {
		return nil, fmt.Errorf("synth: schema %s has no measures", s.Name)
	}
	src.labels = make([]string, 0, len(s.Measures))
	for l := range s.Measures {
		src.labels = append(src.labels, l)
	}
	slices.Sort(src.labels)
	summer := 0
	for _, l := range src.labels {
		if s.Measures[l] == "FERIEJOBB" {
			summer++
		}
	}
	src.summer = summer == len(src.labels)
	return src, nil
}

// knownHolds is the holds vocabulary of SCHEMA-FORMAT.md.
var knownHolds = map[string]bool{
	"identifier": true, "birth_date": true, "first_name": true, "last_name": true, "full_name": true,
	"username": true, "email": true, "phone": true, "address": true, "postcode": true, "city": true,
	"health": true, "free_text": true, "measure": true, "period_start": true, "period_end": true,
	"municipality": true, "record_id": true, "unit": true, "occupation": true, "employer": true,
	"org_number": true, "case_worker": true, "decision_date": true, "attendance": true, "status": true,
	"sex": true, "relative_contact": true, "allergy": true, "language": true,
}

// plan splits Options.Rows over the sources by weight (largest remainder),
// orders each source's measure labels by popularity, and picks which
// sources went through a spreadsheet and which one drifts.
func (g *gen) plan(srcs []*source) {
	total := 0
	for _, s := range srcs {
		total += s.prof.weight
	}
	type rem struct {
		i    int
		frac int
	}
	rems := make([]rem, len(srcs))
	left := g.opt.Rows
	for i, s := range srcs {
		s.rows = g.opt.Rows * s.prof.weight / total
		left -= s.rows
		rems[i] = rem{i, g.opt.Rows * s.prof.weight % total}
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return b.frac - a.frac })
	for i := 0; i < left; i++ {
		srcs[rems[i%len(rems)].i].rows++
	}

	for _, s := range srcs {
		g.r.Shuffle(len(s.labels), func(i, j int) { s.labels[i], s.labels[j] = s.labels[j], s.labels[i] })
		sum := 0.0
		s.cumWeights = make([]float64, len(s.labels))
		for i := range s.labels {
			sum += 1 / float64(i+1)
			s.cumWeights[i] = sum
		}
	}

	// Identifiers that went through a spreadsheet: the xlsx sources, or the
	// largest source when no source exports xlsx.
	anyXLSX := false
	for _, s := range srcs {
		if s.format == "xlsx" {
			s.excel, anyXLSX = true, true
		}
	}
	var largest, drift *source
	for _, s := range srcs {
		if largest == nil || s.rows > largest.rows {
			largest = s
		}
		if drift == nil || s.prof.drift > drift.prof.drift {
			drift = s
		}
	}
	if !anyXLSX {
		largest.excel = true
	}
	drift.drifted = true
}

// pickLabel draws a measure label, the popular ones more often.
func (s *source) pickLabel(r *rand.Rand) string {
	u := r.Float64() * s.cumWeights[len(s.cumWeights)-1]
	i, _ := slices.BinarySearch(s.cumWeights, u)
	return s.labels[min(i, len(s.labels)-1)]
}

// term is one participation's dates. End is unset when ongoing.
type term struct {
	start, end time.Time
	ongoing    bool
}

// window returns the dates a participation of someone born on birth may
// start in this source: within the generated years, at an age the source
// serves.
func (g *gen) window(s *source, birth time.Time) (lo, hi time.Time, ok bool) {
	lo, hi = g.refStart, g.ref
	if a := birth.AddDate(s.prof.ageMin, 0, 0); a.After(lo) {
		lo = a
	}
	if b := birth.AddDate(s.prof.ageMax+1, 0, -1); b.Before(hi) {
		hi = b
	}
	if days(lo, hi) < 30 {
		return lo, hi, false
	}
	if s.summer && len(summerSlots(lo, hi)) == 0 {
		return lo, hi, false
	}
	return lo, hi, true
}

// summerSlots returns, per summer in [lo, hi], the first and last day a
// summer job may start.
func summerSlots(lo, hi time.Time) [][2]time.Time {
	var out [][2]time.Time
	for y := lo.Year(); y <= hi.Year(); y++ {
		a := time.Date(y, time.June, 8, 0, 0, 0, 0, time.UTC)
		b := time.Date(y, time.July, 27, 0, 0, 0, 0, time.UTC)
		if lo.After(a) {
			a = lo
		}
		if hi.Before(b) {
			b = hi
		}
		if !a.After(b) {
			out = append(out, [2]time.Time{a, b})
		}
	}
	return out
}

// chain returns up to k consecutive, non-overlapping participations of
// someone born on birth, or none when the person does not fit the source.
func (g *gen) chain(s *source, birth time.Time, k int) []term {
	lo, hi, ok := g.window(s, birth)
	if !ok {
		return nil
	}
	return g.chainIn(s, lo, hi, k)
}

func (g *gen) chainIn(s *source, lo, hi time.Time, k int) []term {
	if s.summer {
		return g.summerChain(lo, hi, k)
	}
	// The chain may begin before the window; participations before it are
	// skipped. So every year of the window gets its share of starts, not
	// only the first ones.
	start := addDays(lo, g.r.IntN(days(lo, hi)+(k-1)*270+1)-(k-1)*270)
	var out []term
	for len(out) < k && !start.After(hi) {
		p := term{start: start, end: addDays(start, g.duration())}
		if start.Before(lo) {
			start = addDays(p.end, 1+g.r.IntN(240))
			continue
		}
		// About 15 % of the recent starts are still ongoing; the others
		// ended, at the latest on the reference date.
		recent := days(start, g.ref) < 540
		switch {
		case !s.hasEnd:
		case recent && g.r.IntN(100) < 15, days(start, g.ref) < 28:
			p.ongoing, p.end = true, time.Time{}
		case p.end.After(g.ref):
			p.end = randomDate(g.r, addDays(start, 28), g.ref)
		}
		out = append(out, p)
		if p.ongoing {
			break
		}
		start = addDays(p.end, 1+g.r.IntN(240))
	}
	return out
}

// duration draws a measure's length in days: one to eighteen months, most
// of them three to five.
func (g *gen) duration() int {
	d := 30 + g.r.IntN(120)
	if g.r.IntN(3) == 0 {
		d += g.r.IntN(420)
	}
	return min(d, 548)
}

// summerChain returns up to k summer jobs in consecutive summers: three or
// four weeks from a Monday in June or July.
func (g *gen) summerChain(lo, hi time.Time, k int) []term {
	slots := summerSlots(lo, hi)
	if len(slots) == 0 {
		return nil
	}
	k = min(k, len(slots))
	first := g.r.IntN(len(slots) - k + 1)
	var out []term
	for _, sl := range slots[first : first+k] {
		start := randomDate(g.r, sl[0], sl[1])
		if back := (int(start.Weekday()) + 6) % 7; !addDays(start, -back).Before(sl[0]) {
			start = addDays(start, -back) // the Monday of that week
		}
		p := term{start: start, end: addDays(start, 7*(3+g.r.IntN(2))-3)}
		if p.end.After(g.ref) {
			p.ongoing, p.end = true, time.Time{}
		}
		out = append(out, p)
	}
	return out
}

// drawK draws how many participations a new person has in a source.
func (g *gen) drawK(s *source) int {
	if s.summer {
		return pick(g.r, []int{1, 1, 1, 1, 2, 2, 2, 3, 3})
	}
	return pick(g.r, []int{1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6})
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// fits reports whether someone born on birth can take part in s.
func (g *gen) fits(s *source, birth time.Time) bool {
	_, _, ok := g.window(s, birth)
	return ok
}

// recurring returns a person who already takes part in a related source
// (the same municipality's other system, or Arbetsförmedlingen) and fits
// s, or nil.
func (g *gen) recurring(s *source) *person {
	for _, rel := range s.prof.related {
		list := g.validBy[rel]
		if len(list) == 0 {
			continue
		}
		chance := 25
		if rel == "af_program" {
			chance = 10
		}
		if g.r.IntN(100) >= chance {
			continue
		}
		for try := 0; try < 12; try++ {
			p := list[g.r.IntN(len(list))]
			if s.used[p.canon] || !g.fits(s, p.birth) {
				continue
			}
			if len(s.prof.kommuner) == 1 && p.kommun != s.prof.kommuner[0] {
				continue // lives elsewhere
			}
			return p
		}
	}
	return nil
}

// buildCandidates lists, in random order, the pool entries that fit s.
func (g *gen) buildCandidates(s *source) {
	s.candidatesBuilt = true
	for i, e := range g.pnr {
		if g.fits(s, e.birth) {
			s.pnrCand = append(s.pnrCand, i)
		}
	}
	for i, e := range g.sam {
		if g.fits(s, e.birth) {
			s.samCand = append(s.samCand, i)
		}
	}
	g.r.Shuffle(len(s.pnrCand), func(i, j int) { s.pnrCand[i], s.pnrCand[j] = s.pnrCand[j], s.pnrCand[i] })
	g.r.Shuffle(len(s.samCand), func(i, j int) { s.samCand[i], s.samCand[j] = s.samCand[j], s.samCand[i] })
}

// freshEntry returns an identifier nobody in this run has yet that fits s:
// a test number while the pool lasts, about one in twenty a
// samordningsnummer, then synthesised numbers.
func (g *gen) freshEntry(s *source) poolEntry {
	if !s.candidatesBuilt {
		g.buildCandidates(s)
	}
	wantSam := g.r.IntN(20) == 0
	next := func(list []poolEntry, cand []int, pos *int) (poolEntry, bool) {
		for *pos < len(cand) {
			e := list[cand[*pos]]
			*pos++
			if !g.taken[e.canon] {
				return e, true
			}
		}
		return poolEntry{}, false
	}
	if wantSam {
		if e, ok := next(g.sam, s.samCand, &s.samPos); ok {
			return e
		}
	}
	if e, ok := next(g.pnr, s.pnrCand, &s.pnrPos); ok {
		return e
	}
	lo := g.refStart.AddDate(-(s.prof.ageMax + 1), 0, 1)
	hi := g.ref.AddDate(-s.prof.ageMin, 0, 0)
	for {
		e := synthesise(g.r, lo, hi, wantSam, g.taken)
		if g.fits(s, e.birth) {
			g.synthesised++
			return e
		}
	}
}

// newPerson gives an identifier a name, address and contact details.
func (g *gen) newPerson(e poolEntry, kommun string) *person {
	g.taken[e.canon] = true
	p := &person{canon: e.canon, birth: e.birth, sam: e.sam, sex: sexOf(e.canon)}
	g.decorate(p, kommun)
	return p
}

// throwaway returns a person without an identifier born in s's age range,
// for rows that have none (or a broken one).
func (g *gen) throwaway(s *source) *person {
	lo := g.refStart.AddDate(-(s.prof.ageMax + 1), 0, 1)
	hi := g.ref.AddDate(-s.prof.ageMin, 0, 0)
	var b time.Time
	for try := 0; ; try++ {
		b = randomDate(g.r, lo, hi)
		if g.fits(s, b) || try > 50 {
			break
		}
	}
	p := &person{birth: b, sex: pick(g.r, []byte{'K', 'M'})}
	g.decorate(p, g.homeKommun(s))
	return p
}

func (g *gen) homeKommun(s *source) string {
	return pick(g.r, s.prof.kommuner)
}

// decorate fills in the personal details an export carries.
func (g *gen) decorate(p *person, kommun string) {
	v := vocab()
	if p.sex == 'M' {
		p.first = pick(g.r, v.maleNames)
	} else {
		p.first = pick(g.r, v.femaleNames)
	}
	p.last = pick(g.r, v.surnames)
	if g.r.IntN(12) == 0 { // a double surname
		p.last += "-" + pick(g.r, v.surnames)
	}
	f, l := fold(p.first), fold(p.last)
	p.username = fmt.Sprintf("%.3s%.3s%02d", f, l, g.r.IntN(100))
	switch g.r.IntN(4) {
	case 0:
		p.email = fmt.Sprintf("%s.%s%d@%s", f, l, g.r.IntN(100), pick(g.r, emailDomain))
	case 1:
		p.email = fmt.Sprintf("%.1s%s@%s", f, l, pick(g.r, emailDomain))
	default:
		p.email = fmt.Sprintf("%s.%s@%s", f, l, pick(g.r, emailDomain))
	}
	// PTS reserves these series for fiction: 070-174 06 05 to 070-174 06 99,
	// 08-465 004 00-99, 031-690 06 00-99, 040-628 04 00-99, 0980-319 200-299.
	p.mobile = fmt.Sprintf("07017406%02d", 5+g.r.IntN(95))
	switch g.r.IntN(4) {
	case 0:
		p.landline, p.areaLen = fmt.Sprintf("0846500%03d", 400+g.r.IntN(100)), 2
	case 1:
		p.landline, p.areaLen = fmt.Sprintf("03169006%02d", g.r.IntN(100)), 3
	case 2:
		p.landline, p.areaLen = fmt.Sprintf("04062804%02d", g.r.IntN(100)), 3
	default:
		p.landline, p.areaLen = fmt.Sprintf("0980319%03d", 200+g.r.IntN(100)), 4
	}
	pl := places[kommun]
	p.kommun = kommun
	p.street = fmt.Sprintf("%s %d", pick(g.r, v.streets), 1+g.r.IntN(60))
	switch g.r.IntN(6) {
	case 0:
		p.street += " " + string(rune('A'+g.r.IntN(3)))
	case 1:
		p.street += fmt.Sprintf(" lgh %d", 1001+100*g.r.IntN(5)+g.r.IntN(4))
	}
	p.postcode = fmt.Sprintf("%03d %02d", pick(g.r, pl.postcode), g.r.IntN(100))
	p.city = pick(g.r, pl.towns)
}
