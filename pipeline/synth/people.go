package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gallra/gallra/schemas/testnumbers"
	"github.com/gallra/gallra/transforms/identity"
)

// poolEntry is one test number that identity.Parse accepts at the reference
// date.
type poolEntry struct {
	canon string // 12 digits
	birth time.Time
	sam   bool
}

// person is someone who takes part in measures. Identifier-less rows get a
// throwaway person too, for their names and contact details.
type person struct {
	canon string // 12-digit canonical identifier; "" for throwaway persons
	birth time.Time
	sam   bool
	sex   byte // 'K' or 'M'

	first, last string
	username    string
	email       string
	mobile      string // 10 digits, 07x...
	landline    string // area code and number, digits only
	areaLen     int    // digits of the area code in landline
	street      string
	postcode    string
	city        string
	kommun      string
}

// loadPool returns the test numbers that identity.Parse accepts at ref as
// personnummer and samordningsnummer, in file order. Skatteverket's list of
// samordningsnummer holds some with impossible dates; they are left out.
func loadPool(ref time.Time) (pnr, sam []poolEntry, err error) {
	for _, s := range testnumbers.Personnummer() {
		id, err := identity.Parse(s, ref)
		if err != nil || id.Kind != identity.Personnummer {
			continue // born after ref
		}
		pnr = append(pnr, poolEntry{canon: id.Canonical, birth: id.Birth})
	}
	for _, s := range testnumbers.Samordningsnummer() {
		id, err := identity.Parse(s, ref)
		if err != nil || id.Kind != identity.Samordningsnummer {
			continue
		}
		sam = append(sam, poolEntry{canon: id.Canonical, birth: id.Birth, sam: true})
	}
	if len(pnr) == 0 {
		return nil, nil, fmt.Errorf("synth: no test personnummer is valid at %s", ref.Format(time.DateOnly))
	}
	return pnr, sam, nil
}

// checkDigit returns the Luhn check digit for the first nine digits of a
// 10-digit personnummer form.
func checkDigit(nine string) byte {
	sum := 0
	for i := 0; i < 9; i++ {
		d := int(nine[i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// canonical builds a 12-digit identifier with a correct check digit from a
// date part (YYYYMMDD, day already +60 for samordningsnummer) and a birth
// number 1-999.
func canonical(date8 string, serial int) string {
	b := make([]byte, 0, 12)
	b = append(b, date8...)
	b = fmt.Appendf(b, "%03d", serial)
	return string(append(b, checkDigit(string(b[2:11]))))
}

// idForm is a way of writing a personnummer or samordningsnummer.
type idForm uint8

const (
	form12     idForm = iota // YYYYMMDDNNNC
	form12Dash               // YYYYMMDD-NNNC
	form10Dash               // YYMMDD-NNNC
	form10                   // YYMMDDNNNC
	form10Plus               // YYMMDD+NNNC (100 years or older)
)

// format writes a 12-digit canonical identifier in form f.
func format(canon string, f idForm) string {
	switch f {
	case form12Dash:
		return canon[:8] + "-" + canon[8:]
	case form10Dash:
		return canon[2:8] + "-" + canon[8:]
	case form10:
		return canon[2:]
	case form10Plus:
		return canon[2:8] + "+" + canon[8:]
	}
	return canon
}

// excelScientific writes a 12-digit identifier the way a spreadsheet shows
// it in the General format: 199001019802 -> "1.99001E+11".
func excelScientific(canon string) string {
	n, _ := strconv.ParseFloat(canon, 64)
	return strconv.FormatFloat(n, 'E', 5, 64)
}

// sexOf returns 'M' for an odd ninth digit (of the 10-digit form), else 'K'.
func sexOf(canon string) byte {
	if (canon[10]-'0')%2 == 1 {
		return 'M'
	}
	return 'K'
}

// ageAt returns the age in whole years at t of someone born on birth.
func ageAt(birth, t time.Time) int {
	age := t.Year() - birth.Year()
	if t.Month() < birth.Month() || (t.Month() == birth.Month() && t.Day() < birth.Day()) {
		age--
	}
	return age
}

// days returns the whole days from a to b.
func days(a, b time.Time) int { return int(b.Sub(a).Hours() / 24) }

// addDays returns t plus n days.
func addDays(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

// randomDate returns a uniformly random date in [lo, hi].
func randomDate(r *rand.Rand, lo, hi time.Time) time.Time {
	n := days(lo, hi)
	if n <= 0 {
		return lo
	}
	return addDays(lo, r.IntN(n+1))
}

// synthesise makes up a valid identifier for someone born in [lo, hi] that
// is not in taken. It may belong to a real person: see the package
// documentation.
func synthesise(r *rand.Rand, lo, hi time.Time, sam bool, taken map[string]bool) poolEntry {
	for {
		b := randomDate(r, lo, hi)
		day := b.Day()
		if sam {
			day += 60
		}
		c := canonical(fmt.Sprintf("%04d%02d%02d", b.Year(), int(b.Month()), day), 1+r.IntN(999))
		if !taken[c] {
			return poolEntry{canon: c, birth: b, sam: sam}
		}
	}
}

// impossibleDate makes an identifier whose date does not exist (31 April,
// 30 February, 29 February in a common year, or such a day + 60) with an
// otherwise correct check digit and birth number, born around year.
func impossibleDate(r *rand.Rand, year int) string {
	mmdd := [...]string{"0431", "0631", "0931", "1131", "0230", "0231", "0229"}[r.IntN(7)]
	if mmdd == "0229" {
		for year%4 == 0 {
			year--
		}
	}
	month, day := mmdd[:2], mmdd[2:]
	if r.IntN(5) == 0 { // a samordningsnummer: day + 60
		d, _ := strconv.Atoi(day)
		day = strconv.Itoa(d + 60)
	}
	return canonical(fmt.Sprintf("%04d%s%s", year, month, day), 1+r.IntN(999))
}

// badCheckDigit returns canon with its last digit changed.
func badCheckDigit(r *rand.Rand, canon string) string {
	c := canon[11] - '0'
	c = (c + 1 + byte(r.IntN(9))) % 10
	return canon[:11] + string('0'+c)
}
