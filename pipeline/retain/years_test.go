package retain_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gallra/gallra/pipeline/config"
	"github.com/gallra/gallra/pipeline/duck"
	"github.com/gallra/gallra/pipeline/ingest"
	"github.com/gallra/gallra/pipeline/keyfile"
	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/retain"
	"github.com/gallra/gallra/pipeline/testlake"
	"github.com/gallra/gallra/schemas"
)

// The policies of the simulation, written out here rather than read from
// transforms/retention, so that the expected tiers are worked out
// independently of the code under test (the names must match the shipped
// policies, whose values these are).
type simPolicy struct {
	name            string
	pseudo, kept    [3]int // years, months, days
	granularity     string
	keepSex, keepAB bool
	keepMuni        bool
	ageRule         int
}

var simSources = []struct {
	name string
	p    simPolicy
}{
	{"amea", simPolicy{name: "jonkoping_amea", pseudo: [3]int{0, 0, 0}, kept: [3]int{5, 0, 0}, granularity: "month"}},
	{"aksel", simPolicy{name: "lulea_aksel", pseudo: [3]int{2, 0, 0}, kept: [3]int{10, 0, 0}, granularity: "month", keepSex: true, keepAB: true}},
	{"uka", simPolicy{name: "lulea_uka", pseudo: [3]int{2, 0, 0}, kept: [3]int{5, 0, 0}, granularity: "quarter", ageRule: 21}},
	{"feriejobb", simPolicy{name: "lulea_feriejobb", pseudo: [3]int{2, 0, 0}, kept: [3]int{3, 0, 0}, granularity: "year"}},
	{"af", simPolicy{name: "arbetsformedlingen", pseudo: [3]int{3, 0, 0}, kept: [3]int{13, 0, 0}, granularity: "month", keepSex: true, keepAB: true, keepMuni: true}},
	{"jobbtorg", simPolicy{name: ""}}, // no policy: never culled
}

func add(t time.Time, s [3]int) time.Time { return t.AddDate(s[0], s[1], s[2]) }

func coarse(t time.Time, g string) time.Time {
	switch g {
	case "month":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		return time.Date(t.Year(), time.Month((int(t.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	case "year":
		return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

type person struct {
	id    string // 12-digit personnummer with '-'
	birth time.Time
	sex   string
}

type participation struct {
	who        *person
	source     int // index into simSources
	measure    string
	start, end time.Time // end: the true end; may lie after the last night (then it stays ongoing)
}

// known returns the end as the lake knows it after the night of day r.
func (p *participation) known(r time.Time) (time.Time, bool) {
	if !p.end.After(r) {
		return p.end, true
	}
	return time.Time{}, false
}

type tier int

const (
	absent tier = iota // not exported yet
	pseudonymised
	anonymisedTier
	purgedTier
)

// tierAfter is the tier the participation must be in after the night (and
// retention run) of day r, worked out from the policy by hand.
func (p *participation) tierAfter(r time.Time) tier {
	if p.start.After(r) {
		return absent
	}
	pol := simSources[p.source].p
	if pol.name == "" {
		return pseudonymised
	}
	end, ended := p.known(r)
	var last time.Time
	has := false
	if ended {
		last, has = add(end, pol.pseudo), true
	}
	if pol.ageRule > 0 {
		lu := time.Date(p.who.birth.Year()+pol.ageRule, 12, 31, 0, 0, 0, 0, time.UTC)
		if !has || lu.Before(last) {
			last, has = lu, true
		}
	}
	if !has || !r.After(last) {
		return pseudonymised
	}
	from := coarse(p.start, pol.granularity)
	if ended {
		from = coarse(end, pol.granularity)
	}
	if r.After(add(from, pol.kept)) {
		return purgedTier
	}
	return anonymisedTier
}

func ageBand(birth, at time.Time) string {
	age := at.Year() - birth.Year()
	if at.Month() < birth.Month() || at.Month() == birth.Month() && at.Day() < birth.Day() {
		age-- // the birthday of that year is still to come
	}
	bands := []struct {
		from int
		name string
	}{{65, "65+"}, {60, "60-64"}, {50, "50-59"}, {40, "40-49"}, {30, "30-39"}, {25, "25-29"}, {20, "20-24"}, {16, "16-19"}, {0, "0-15"}}
	for _, b := range bands {
		if age >= b.from {
			return b.name
		}
	}
	return ""
}

// personnummer makes a valid 12-digit personnummer for a birth date and a
// serial (its last digit's parity gives the sex).
func personnummer(birth time.Time, serial int) string {
	ten := birth.Format("060102") + fmt.Sprintf("%03d", serial)
	sum := 0
	for i, c := range ten {
		d := int(c - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return birth.Format("20060102") + "-" + ten[6:] + strconv.Itoa((10-sum%10)%10)
}

// generate makes the simulation's people and participations, deterministic.
func generate() []*participation {
	rng := mrand.New(mrand.NewPCG(4, 2026))
	day := func(from time.Time, days int) time.Time { return from.AddDate(0, 0, rng.IntN(days)) }
	measures := []string{"Praktik", "Arbetsträning", "Kartläggning"}
	var out []*participation
	t0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 36; i++ {
		young := i%3 == 0 // UKA's youths
		var birth time.Time
		if young {
			birth = day(time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC), 365*10)
		} else {
			birth = day(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), 365*35)
		}
		per := &person{id: personnummer(birth, 100+2*i+i%2), birth: birth, sex: map[int]string{0: "K", 1: "M"}[i%2]}
		n := 2 + rng.IntN(3)
		used := map[string]bool{}
		for j := 0; j < n; j++ {
			src := rng.IntN(len(simSources))
			if simSources[src].name == "uka" && !young {
				src = 0
			}
			var start time.Time
			if simSources[src].name == "uka" {
				// 16–19 years old at the start, ended well before the year
				// of the 21st birthday ends (the age rule can then only end
				// linkage of an ended row).
				from := birth.AddDate(16, 0, 0)
				if from.Before(t0) {
					from = t0
				}
				to := birth.AddDate(19, 0, 0)
				if !to.After(from) {
					src = 0
					start = day(t0, 365*12)
				} else {
					start = day(from, int(to.Sub(from).Hours()/24)+1)
				}
			} else {
				start = day(t0, 365*12)
			}
			m := measures[rng.IntN(len(measures))]
			key := simSources[src].name + m + start.Format(time.DateOnly)
			if used[key] {
				continue
			}
			used[key] = true
			end := start.AddDate(0, 0, rng.IntN(400))
			if simSources[src].name == "feriejobb" {
				end = start.AddDate(0, 0, rng.IntN(60))
			}
			out = append(out, &participation{who: per, source: src, measure: m, start: start, end: end})
		}
	}
	return out
}

// nights: two a year, 2015–2026, plus the turn of two years.
func nights() []time.Time {
	var out []time.Time
	for y := 2015; y <= 2026; y++ {
		for _, md := range [][2]int{{3, 10}, {9, 20}} {
			out = append(out, time.Date(y, time.Month(md[0]), md[1], 0, 0, 0, 0, time.UTC))
		}
		if y == 2019 || y == 2023 {
			out = append(out, time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// writeDelta writes each source's export of the night: participations that
// started or ended since the previous night, with their end once it has
// passed (a delta export, as participant systems deliver).
func writeDelta(t *testing.T, inbox string, s *schemas.Schema, ps []*participation, prev, r time.Time, n int) {
	t.Helper()
	bySource := map[int][][4]string{}
	for _, p := range ps {
		started := p.start.After(prev) && !p.start.After(r)
		ended := p.end.After(prev) && !p.end.After(r)
		if !started && !ended {
			continue
		}
		end := ""
		if e, ok := p.known(r); ok {
			end = e.Format(time.DateOnly)
		}
		bySource[p.source] = append(bySource[p.source], [4]string{p.who.id, p.measure, p.start.Format(time.DateOnly), end})
	}
	for src, rows := range bySource {
		testlake.WriteExport(t, filepath.Join(inbox, simSources[src].name, fmt.Sprintf("export-%03d.csv", n)), s, rows)
	}
}

var measureCode = map[string]string{"Praktik": "PRAKTIK", "Arbetsträning": "ARBETSTRANING", "Kartläggning": "KARTLAGGNING"}

func d(t time.Time) string { return t.Format(time.DateOnly) }

// activeIn reports whether the participation, as the lake knows it on r,
// is active in calendar year y.
func (p *participation) activeIn(y int, r time.Time) bool {
	if p.start.Year() > y {
		return false
	}
	end, ok := p.known(r)
	return !ok || end.Year() >= y
}

// TestTwelveYears simulates twelve years of nights over six sources under
// five policies (one without): each night ingests the day's delta exports
// through the real pipeline and applies retention. After every night it
// checks that every participation is in exactly the tier its policy says
// (the pseudonymised lake and the anonymised tier hold exactly the expected
// rows, purged ones are in no file), which years are frozen and when, and
// that every frozen year's aggregates equal the participants and ended
// persons counted here from the pseudonymised rows as they were before
// they went.
func TestTwelveYears(t *testing.T) {
	if testing.Short() {
		t.Skip("twelve years of nights")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := schemas.Lookup("amea")
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	body.WriteString("settle = \"0s\"\n")
	for _, src := range simSources {
		fmt.Fprintf(&body, "[[source]]\nname = %q\nschema = \"amea\"\nmunicipality = \"2580\"\nkeep = [\"sex\", \"age_band\", \"municipality\"]\n", src.name)
		if src.p.name != "" {
			fmt.Fprintf(&body, "retention = %q\n", src.p.name)
		}
	}
	cfg := filepath.Join(dir, "gallra.toml")
	if err := os.WriteFile(cfg, []byte(body.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyfile.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.Open(ctx, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps := generate()
	frozenOn := map[int]time.Time{} // year -> night it was frozen
	prev := time.Date(2014, 12, 31, 0, 0, 0, 0, time.UTC)
	seen := map[tier]int{}
	for n, r := range nights() {
		writeDelta(t, job.Inbox, s, ps, prev, r, n)
		job.ReferenceDate = r
		rep, err := ingest.Run(ctx, job, key, ingest.Options{})
		if err != nil || rep.Totals.QuarantinedTotal() != 0 || rep.Totals.RejectedFiles != 0 {
			t.Fatalf("night %s: ingest: %v, %+v", d(r), err, rep.Totals)
		}

		// What the lake holds before retention, and which years must freeze.
		wantFreeze := map[int]bool{}
		for _, p := range ps {
			before := pseudonymised
			if !p.start.After(prev) {
				before = p.tierAfter(prev)
			}
			if before != pseudonymised || p.start.After(r) {
				continue
			}
			if p.tierAfter(r) == pseudonymised {
				continue
			}
			end, ok := p.known(r)
			to := r.Year()
			if ok {
				to = end.Year()
			}
			for y := p.start.Year(); y <= to && y < r.Year(); y++ {
				if _, done := frozenOn[y]; !done {
					wantFreeze[y] = true
				}
			}
		}
		// Expected frozen values: participants and ended persons per
		// source × measure and in total, from the rows in the lake now.
		wantCells := map[string]int{}
		for y := range wantFreeze {
			persons := map[[3]string]map[string]bool{}
			count := func(stat, src, m, who string) {
				k := [3]string{stat, src, m}
				if persons[k] == nil {
					persons[k] = map[string]bool{}
				}
				persons[k][who] = true
			}
			for _, p := range ps {
				if p.start.After(r) || (!p.start.After(prev) && p.tierAfter(prev) != pseudonymised) {
					continue // not in the pseudonymised lake tonight
				}
				src, m := simSources[p.source].name, measureCode[p.measure]
				if p.activeIn(y, r) {
					for _, k := range [][2]string{{src, m}, {src, "TOTAL"}, {"TOTAL", m}, {"TOTAL", "TOTAL"}} {
						count("participants", k[0], k[1], p.who.id)
					}
				}
				if end, ok := p.known(r); ok && end.Year() == y {
					for _, k := range [][2]string{{src, m}, {src, "TOTAL"}, {"TOTAL", m}, {"TOTAL", "TOTAL"}} {
						count("ended", k[0], k[1], p.who.id)
					}
				}
			}
			for k, who := range persons {
				wantCells[fmt.Sprintf("%d %s %s %s", y, k[0], k[1], k[2])] = len(who)
			}
			for _, stat := range []string{"participants", "ended"} {
				if _, ok := wantCells[fmt.Sprintf("%d %s TOTAL TOTAL", y, stat)]; !ok {
					wantCells[fmt.Sprintf("%d %s TOTAL TOTAL", y, stat)] = 0
				}
			}
		}

		res, err := retain.Apply(ctx, job, key, r, retain.Options{})
		if err != nil {
			t.Fatalf("night %s: retain: %v", d(r), err)
		}
		var gotFreeze []int
		for _, y := range res.Details.YearsFrozen {
			gotFreeze = append(gotFreeze, y)
			frozenOn[y] = r
		}
		if want := slices.Sorted(mapKeysTest(wantFreeze)); fmt.Sprint(gotFreeze) != fmt.Sprint(want) {
			t.Errorf("night %s: froze %v, want %v", d(r), gotFreeze, want)
		}

		// Every row in its tier.
		if err := duck.LakeView(ctx, db, job.Lake); err != nil {
			t.Fatal(err)
		}
		var wantLake, wantAnon []string
		for _, p := range ps {
			tr := p.tierAfter(r)
			seen[tr]++
			src, pol := simSources[p.source].name, simSources[p.source].p
			end, ended := p.known(r)
			switch tr {
			case pseudonymised:
				e := ""
				if ended {
					e = d(end)
				}
				wantLake = append(wantLake, fmt.Sprint(src, " ", measureCode[p.measure], " ", d(p.start), " ", e))
			case anonymisedTier:
				e := ""
				if ended {
					e = d(coarse(end, pol.granularity))
				}
				sex, ab, muni := "", "", ""
				if pol.keepSex {
					sex = p.who.sex
				}
				if pol.keepAB {
					ab = ageBand(p.who.birth, p.start)
				}
				if pol.keepMuni {
					muni = "2580"
				}
				wantAnon = append(wantAnon, fmt.Sprint(src, " ", measureCode[p.measure], " ", d(coarse(p.start, pol.granularity)), " ", e, " ",
					pol.granularity, " ", sex, " ", ab, " ", muni))
			}
		}
		sort.Strings(wantLake)
		sort.Strings(wantAnon)
		gotLake := lines(t, db, "SELECT concat_ws(' ', source, measure, strftime(period_start, '%Y-%m-%d'), coalesce(strftime(period_end, '%Y-%m-%d'), '')) AS l FROM lake ORDER BY l")
		gotAnon := lines(t, db, `SELECT concat_ws(' ', source, measure, strftime(period_start, '%Y-%m-%d'), coalesce(strftime(period_end, '%Y-%m-%d'), ''),
			granularity, coalesce(sex, ''), coalesce(age_band, ''), coalesce(municipality, '')) AS l FROM anonymised ORDER BY l`)
		if diff := compareLines(gotLake, wantLake); diff != "" {
			t.Errorf("night %s: pseudonymised lake:\n%s", d(r), diff)
		}
		if diff := compareLines(gotAnon, wantAnon); diff != "" {
			t.Errorf("night %s: anonymised tier:\n%s", d(r), diff)
		}
		// Purged rows are in no file: the lake holds exactly the
		// manifest's files, and they hold exactly the rows above.
		rep2, err := lake.Check(job.Lake, true)
		if err != nil || !rep2.OK() {
			t.Fatalf("night %s: check: %v %v", d(r), err, rep2.Problems)
		}

		// Frozen values: every cell as counted here, and no other.
		if len(wantFreeze) > 0 {
			years := slices.Sorted(mapKeysTest(wantFreeze))
			ys := make([]string, len(years))
			for i, y := range years {
				ys[i] = strconv.Itoa(y)
			}
			got := lines(t, db, `SELECT concat_ws(' ', year, statistic, source, measure, value, strftime(frozen_on, '%Y-%m-%d')) AS l FROM aggregates
				WHERE statistic IN ('participants', 'ended') AND year IN (`+strings.Join(ys, ",")+`) ORDER BY l`)
			var want []string
			for k, v := range wantCells {
				want = append(want, fmt.Sprintf("%s %d %s", k, v, d(r)))
			}
			sort.Strings(want)
			// The statistic name comes second in the query's lines.
			for i, l := range got {
				f := strings.Fields(l)
				got[i] = strings.Join([]string{f[0], f[1], f[2], f[3], f[4], f[5]}, " ")
			}
			if diff := compareLines(got, want); diff != "" {
				t.Errorf("night %s: frozen aggregates:\n%s", d(r), diff)
			}
		}
		prev = r
	}
	// The simulation exercised every tier and froze years.
	if seen[anonymisedTier] == 0 || seen[purgedTier] == 0 || seen[pseudonymised] == 0 || len(frozenOn) < 5 {
		t.Errorf("simulation too tame: tiers %v, %d frozen years", seen, len(frozenOn))
	}
	t.Logf("%d participations; row-nights per tier %v; frozen years %d", len(ps), seen, len(frozenOn))
}

func mapKeysTest[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// lines runs q, whose rows have one column.
func lines(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	_, rows, err := duck.Query(context.Background(), db, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r[0]
	}
	return out
}

func compareLines(got, want []string) string {
	count := map[string]int{}
	for _, l := range got {
		count[strings.TrimSpace(l)]++
	}
	for _, l := range want {
		count[strings.TrimSpace(l)]--
	}
	var b strings.Builder
	keys := slices.Sorted(mapKeysTest(count))
	for _, k := range keys {
		switch n := count[k]; {
		case n > 0:
			fmt.Fprintf(&b, "  unexpected ×%d: %s\n", n, k)
		case n < 0:
			fmt.Fprintf(&b, "  missing ×%d: %s\n", -n, k)
		}
	}
	return b.String()
}
