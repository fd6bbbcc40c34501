package verify

import (
	"bytes"
	"math"
	"strconv"
)

// kinds is a set of finding kinds, one bit each.
type kinds uint8

const (
	kindPersonnummer kinds = 1 << iota
	kindSamordningsnummer
	kindIdentifier
	kindEmail
	kindPhone
	kindSecret
)

// kindOrder lists the kinds in the order findings are reported.
var kindOrder = [...]struct {
	k    kinds
	name string
}{
	{kindPersonnummer, KindPersonnummer},
	{kindSamordningsnummer, KindSamordningsnummer},
	{kindIdentifier, KindIdentifier},
	{kindEmail, KindEmail},
	{kindPhone, KindPhone},
	{kindSecret, KindSecret},
}

// mode selects which detectors run on a value.
type mode uint8

const (
	// modeText runs every detector: text lines, strings, XLSX cells.
	modeText mode = iota
	// modeDigits runs the detectors that look only at ASCII digit patterns
	// (identifiers, phone numbers) and secrets: binary values that are not
	// valid UTF-8, where an e-mail-shaped byte sequence is mostly chance.
	modeDigits
	// modeSecrets runs only the secret detector: fixed-length binary
	// (pseudonyms, record keys), where any other pattern would be chance.
	modeSecrets
)

// detector runs the detectors of one Scanner. It is not safe for
// concurrent use; every scan makes its own.
type detector struct {
	isIdentifier func(string) (string, bool)
	secrets      [][]byte
	maxSecret    int
	cand         []byte // scratch for identifier candidates
	num          []byte // scratch for rendered numbers
}

func newDetector(s *Scanner) (*detector, error) {
	d := &detector{isIdentifier: s.IsIdentifier, cand: make([]byte, 0, 16), num: make([]byte, 0, 24)}
	for i, sec := range s.Secrets {
		if sec == "" {
			continue
		}
		if len(sec) < MinSecretLen {
			// Never print the secret, not even its length beyond the rule.
			return nil, &configError{"secret #" + strconv.Itoa(i+1) + " is shorter than " + strconv.Itoa(MinSecretLen) + " bytes"}
		}
		d.secrets = append(d.secrets, []byte(sec))
		d.maxSecret = max(d.maxSecret, len(sec))
	}
	return d, nil
}

// context is how many bytes of context a detector may look at on either
// side of the position it anchors a match at. Text longer than a window is
// scanned in overlapping windows that share this much context.
func (d *detector) context() int { return max(minContext, d.maxSecret) }

const minContext = 1024

// detect reports the kinds of everything found in b whose anchor lies in
// b[lo:hi]; the rest of b is context. The anchor of an identifier or a phone
// number is its first byte, of an e-mail address its '@', of a secret its
// first byte.
func (d *detector) detect(b []byte, lo, hi int, m mode) kinds {
	var found kinds
	if len(d.secrets) > 0 {
		found |= d.findSecrets(b, lo, hi)
	}
	if m == modeSecrets {
		return found
	}
	// One pass to decide which detectors can possibly fire: identifiers
	// need 9 digits (10 or 12, or 9 in a mangled scientific form), phone
	// numbers 8, e-mail addresses an '@'.
	digits, at := 0, false
	for _, c := range b[lo:hi] {
		if c-'0' < 10 {
			digits++
		} else if c == '@' {
			at = true
		}
	}
	if digits < 9 {
		// Digits of a match may lie in the context beyond hi.
		for _, c := range b[hi:min(len(b), hi+32)] {
			if c-'0' < 10 {
				digits++
			}
		}
	}
	if digits >= 9 {
		found |= d.findIdentifiers(b, lo, hi)
	}
	if digits >= 8 {
		if findPhone(b, lo, hi) {
			found |= kindPhone
		}
	}
	if at && m == modeText {
		if findEmail(b, lo, hi) {
			found |= kindEmail
		}
	}
	return found
}

// detectAll runs every detector over all of b.
func (d *detector) detectAll(b []byte) kinds { return d.detect(b, 0, len(b), modeText) }

func (d *detector) findSecrets(b []byte, lo, hi int) kinds {
	for _, sec := range d.secrets {
		end := min(len(b), hi+len(sec)-1)
		if end-lo >= len(sec) && bytes.Contains(b[lo:end], sec) {
			return kindSecret
		}
	}
	return 0
}

func isDigit(c byte) bool { return c-'0' < 10 }

func isAlnum(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 26 }

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// digitRun returns the end of the run of ASCII digits starting at i.
func digitRun(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// findIdentifiers looks for identifier candidates, (\d{6}|\d{8})[sep]?\d{4}
// standing alone (the byte before and after is not an ASCII letter or
// digit), and the scientific notation spreadsheets turn them into, and asks
// isIdentifier about each.
func (d *detector) findIdentifiers(b []byte, lo, hi int) kinds {
	var found kinds
	for i := lo; i < hi; i++ {
		if !isDigit(b[i]) {
			continue
		}
		e := digitRun(b, i)
		if i > 0 && isAlnum(b[i-1]) {
			i = e - 1
			continue
		}
		n := e - i
		switch {
		case (n == 10 || n == 12) && (e == len(b) || !isAlnum(b[e])):
			if !inUUID(b, i, e) {
				found |= d.classify(b[i:e], 0)
			}
		case n == 6 || n == 8:
			if sep, t := separator(b, e); t > e && t+4 <= len(b) && digitRun(b, t) == t+4 &&
				(t+4 == len(b) || !isAlnum(b[t+4])) && !inUUID(b, i, t+4) {
				d.cand = append(append(d.cand[:0], b[i:e]...), b[t:t+4]...)
				found |= d.classify(d.cand, sep)
			}
		case n == 1 && e < len(b) && (b[e] == '.' || b[e] == ','):
			if digits, end, ok := scientific(b, i, d.cand[:0]); ok {
				d.cand = digits
				if len(digits) == 9 {
					d.cand = append(append(d.cand[:0:0], '0'), digits...)
				}
				found |= d.classify(d.cand, 0)
				e = end
			}
		}
		i = e - 1
	}
	return found
}

// separator parses what may stand between the date and the birth number at
// b[i:]: at most one '-' or '+' (or a Unicode dash), optionally with a single
// space on either side, or a single (no-break) space. It returns the
// separator ('-', '+', or 0 for none) and where the birth number starts.
func separator(b []byte, i int) (byte, int) {
	j := i
	spaces := 0
	if w := spaceAt(b, j); w > 0 {
		j += w
		spaces++
	}
	var sep byte
	if j < len(b) && (b[j] == '-' || b[j] == '+') {
		sep = b[j]
		j++
	} else if w := dashAt(b, j); w > 0 {
		sep = '-'
		j += w
	}
	if sep != 0 {
		if w := spaceAt(b, j); w > 0 {
			j += w
		}
	} else if spaces == 0 {
		return 0, i
	}
	if sep == 0 {
		sep = '-' // a space alone stands for "no separator", as '-' does
	}
	return sep, j
}

// spaceAt returns the width of a space or no-break space at b[i:], or 0.
func spaceAt(b []byte, i int) int {
	if i < len(b) && b[i] == ' ' {
		return 1
	}
	if i+1 < len(b) && b[i] == 0xc2 && b[i+1] == 0xa0 {
		return 2
	}
	return 0
}

// dashAt returns the width of a Unicode dash at b[i:] (hyphen, non-breaking
// hyphen, figure dash, en dash, minus sign), or 0.
func dashAt(b []byte, i int) int {
	if i+2 < len(b) && b[i] == 0xe2 {
		switch {
		case b[i+1] == 0x80 && b[i+2] >= 0x90 && b[i+2] <= 0x93, // U+2010..U+2013
			b[i+1] == 0x88 && b[i+2] == 0x92: // U+2212
			return 3
		}
	}
	return 0
}

// scientific parses a number in scientific notation starting at b[i] (one
// digit, '.' or ',', fraction digits, 'E' or 'e', optional '+', exponent) as
// spreadsheets print long numbers, and returns its integer digits appended
// to dst when it is an integer of 9, 10 or 12 digits of which at least 9
// are significant (a 10-digit personnummer from 2000-2009 loses its leading
// zero).
func scientific(b []byte, i int, dst []byte) (digits []byte, end int, ok bool) {
	f := i + 2
	fe := digitRun(b, f)
	if fe == f || fe >= len(b) || (b[fe]|0x20) != 'e' {
		return nil, 0, false
	}
	x := fe + 1
	if x < len(b) && b[x] == '+' {
		x++
	}
	xe := digitRun(b, x)
	if xe == x || xe-x > 2 || (xe < len(b) && isAlnum(b[xe])) {
		return nil, 0, false
	}
	exp, _ := strconv.Atoi(string(b[x:xe]))
	frac := fe - f
	n := exp + 1
	if frac > exp || 1+frac < 9 || (n != 9 && n != 10 && n != 12) {
		return nil, 0, false
	}
	dst = append(dst, b[i])
	dst = append(dst, b[f:fe]...)
	for len(dst) < n {
		dst = append(dst, '0')
	}
	return dst, xe, true
}

// inUUID reports whether b[s:e] lies inside a UUID-shaped token
// (8-4-4-4-12 hex digits), whose all-digit groups would otherwise look like
// identifier candidates.
func inUUID(b []byte, s, e int) bool {
	for _, off := range [...]int{0, 9, 14, 19, 24} {
		p := s - off
		if p < 0 || p+36 > len(b) || p+36 < e {
			continue
		}
		if isUUID(b[p:p+36]) && (p == 0 || !isAlnum(b[p-1])) && (p+36 == len(b) || !isAlnum(b[p+36])) {
			return true
		}
	}
	return false
}

func isUUID(b []byte) bool {
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

// classify asks isIdentifier about a candidate: its digits, with the
// separator sep ('-', '+' or 0) put back before the last four.
func (d *detector) classify(digits []byte, sep byte) kinds {
	if d.isIdentifier == nil {
		return kindIdentifier // fail closed: every candidate counts
	}
	var buf [16]byte
	c := append(buf[:0], digits[:len(digits)-4]...)
	if sep != 0 {
		c = append(c, sep)
	}
	c = append(c, digits[len(digits)-4:]...)
	kind, ok := d.isIdentifier(string(c))
	if !ok {
		return 0
	}
	switch kind {
	case KindPersonnummer:
		return kindPersonnummer
	case KindSamordningsnummer:
		return kindSamordningsnummer
	}
	return kindIdentifier
}

// detectInt checks an integer value: its decimal digits are an identifier
// candidate when there are 10 or 12 of them, or 9 (a 10-digit number that
// lost its leading zero).
func (d *detector) detectInt(v int64) kinds {
	if v < 0 {
		if v == math.MinInt64 {
			return 0
		}
		v = -v
	}
	if v < 100_000_000 || v >= 1_000_000_000_000 || (v >= 10_000_000_000 && v < 100_000_000_000) {
		return 0
	}
	d.num = strconv.AppendInt(d.num[:0], v, 10)
	if len(d.num) == 9 {
		d.num = append(d.num[:0], '0')
		d.num = strconv.AppendInt(d.num, v, 10)
	}
	return d.classify(d.num, 0)
}

// detectFloat checks a floating-point value that holds an integer as
// [detector.detectInt] does.
func (d *detector) detectFloat(f float64) kinds {
	if f != math.Trunc(f) || math.Abs(f) >= 1e12 {
		return 0
	}
	return d.detectInt(int64(f))
}

// findPhone reports whether a Swedish phone number (or another number in
// international '+' form) starts in b[lo:hi].
func findPhone(b []byte, lo, hi int) bool {
	for i := lo; i < hi; i++ {
		c := b[i]
		if c != '0' && c != '+' && c != '(' {
			continue
		}
		if i > 0 && !phoneBoundaryBefore(b, i) {
			continue
		}
		if phoneAt(b, i) && !inUUID(b, i, i+1) {
			return true
		}
	}
	return false
}

// phoneBoundaryBefore reports whether a phone number may start at b[i]:
// the byte before is no letter or digit, and not the point or comma of a
// decimal number or the colon of a time.
func phoneBoundaryBefore(b []byte, i int) bool {
	p := b[i-1]
	if isAlnum(p) || p == '+' {
		return false
	}
	if (p == '.' || p == ',' || p == ':') && i >= 2 && isDigit(b[i-2]) {
		return false
	}
	return true
}

// phoneBoundaryAfter reports whether a phone number may end before b[i].
func phoneBoundaryAfter(b []byte, i int) bool {
	if i >= len(b) {
		return true
	}
	c := b[i]
	if isAlnum(c) {
		return false
	}
	if (c == '.' || c == ',' || c == ':') && i+1 < len(b) && isDigit(b[i+1]) {
		return false
	}
	return true
}

// phoneShape is what readGroups has read so far: the digits and the
// lengths of the groups and the separators between them.
type phoneShape struct {
	digits [16]byte
	nd     int
	groups [16]int
	seps   [16]byte
	ng     int
}

// Which rule readGroups applies after each group.
const (
	ruleNational      = iota // 0… : Swedish national number
	ruleArea                 // (0…) …: national number after an area code in parentheses
	ruleSweden               // +46 / 0046 …: national number without its leading zero
	ruleInternational        // + other country code
)

// readGroups reads digit groups from b[i:], separated by a single space
// or '-', and reports whether, after some group that ends at a boundary,
// the digits read so far are a phone number by the rule. area is the area
// code read before (ruleArea).
func readGroups(b []byte, i, limit, rule int, area []byte) bool {
	var sh phoneShape
	for {
		e := digitRun(b, i)
		if e == i || sh.nd+(e-i) > limit || sh.ng == len(sh.groups) {
			return false
		}
		sh.nd += copy(sh.digits[sh.nd:], b[i:e])
		sh.groups[sh.ng] = e - i
		sh.ng++
		if phoneBoundaryAfter(b, e) && sh.accept(rule, area) {
			return true
		}
		if e+1 < len(b) && (b[e] == ' ' || b[e] == '-') && isDigit(b[e+1]) {
			sh.seps[sh.ng-1] = b[e]
			i = e + 1
			continue
		}
		return false
	}
}

func (sh *phoneShape) accept(rule int, area []byte) bool {
	d := sh.digits[:sh.nd]
	switch rule {
	case ruleNational:
		first := sh.groups[0]
		if first < 2 || (first == 2 && d[1] != '8' && sh.ng > 1) {
			return false
		}
		if sh.isDMYDate() {
			return false
		}
		return nationalOK(d[:2], len(d), sh.ng > 1)
	case ruleArea:
		return nationalOK(area, len(area)+len(d), true)
	case ruleSweden:
		nsn := d
		if nsn[0] == '0' {
			nsn = nsn[1:]
		}
		if len(nsn) == 0 || nsn[0] == '0' {
			return false
		}
		if nsn[0] == '7' {
			return len(nsn) == 9
		}
		return len(nsn) >= 7 && len(nsn) <= 9
	case ruleInternational:
		return len(d) >= 9 && !sh.isoDate()
	}
	return false
}

// phoneAt reports whether a phone number starts at b[i] ('0', '+' or '(').
func phoneAt(b []byte, i int) bool {
	switch b[i] {
	case '+':
		if i+1 >= len(b) || b[i+1] < '1' || b[i+1] > '9' {
			return false
		}
		if i+3 <= len(b) && b[i+1] == '4' && b[i+2] == '6' {
			return swedishInternational(b, i+3)
		}
		return readGroups(b, i+1, 15, ruleInternational, nil)
	case '(':
		// (08) 123 456 78, (036) 10 20 30
		j := i + 1
		e := digitRun(b, j)
		if e-j < 2 || e-j > 4 || b[j] != '0' || b[j+1] == '0' || e >= len(b) || b[e] != ')' {
			return false
		}
		k := e + 1
		if k < len(b) && (b[k] == ' ' || b[k] == '-') {
			k++
		}
		area := b[j:e]
		return readGroups(b, k, 10-len(area), ruleArea, area)
	}
	// '0'
	if i+4 <= len(b) && b[i+1] == '0' && b[i+2] == '4' && b[i+3] == '6' {
		return swedishInternational(b, i+4)
	}
	if i+1 >= len(b) || b[i+1] < '1' || b[i+1] > '9' {
		return false
	}
	return readGroups(b, i, 10, ruleNational, nil)
}

// nationalOK checks the length of a national number (with its leading 0)
// whose first two digits are prefix: a mobile number (07X) has 10 digits,
// others 8 to 10; without any separator at least 9, so that zero-padded
// codes of eight digits do not look like phone numbers.
func nationalOK(prefix []byte, n int, separated bool) bool {
	if prefix[1] == '7' {
		return n == 10
	}
	if !separated {
		return n >= 9 && n <= 10
	}
	return n >= 8 && n <= 10
}

// swedishInternational checks what follows "+46" or "0046" at b[i:]: an
// optional separator, an optional "(0)" or "0", and a national number
// without its leading zero of 7 to 9 digits (9 for mobile numbers).
func swedishInternational(b []byte, i int) bool {
	if i < len(b) && (b[i] == ' ' || b[i] == '-') {
		i++
	}
	if i+3 <= len(b) && b[i] == '(' && b[i+1] == '0' && b[i+2] == ')' {
		i += 3
		if i < len(b) && (b[i] == ' ' || b[i] == '-') {
			i++
		}
	}
	if i >= len(b) || !isDigit(b[i]) {
		return false
	}
	return readGroups(b, i, 10, ruleSweden, nil)
}

// isDMYDate reports whether the groups read look like a DD-MM-YYYY date.
func (sh *phoneShape) isDMYDate() bool {
	if sh.ng != 3 || sh.groups[0] != 2 || sh.groups[1] != 2 || sh.groups[2] != 4 {
		return false
	}
	d := int(sh.digits[0]-'0')*10 + int(sh.digits[1]-'0')
	m := int(sh.digits[2]-'0')*10 + int(sh.digits[3]-'0')
	return d >= 1 && d <= 31 && m >= 1 && m <= 12
}

// isoDate reports whether the groups contain a YYYY-MM-DD date.
func (sh *phoneShape) isoDate() bool {
	for g := 0; g+2 < sh.ng; g++ {
		if sh.groups[g] == 4 && sh.groups[g+1] == 2 && sh.groups[g+2] == 2 &&
			sh.seps[g] == '-' && sh.seps[g+1] == '-' {
			return true
		}
	}
	return false
}

// findEmail reports whether an e-mail address, local@domain.tld, has its
// '@' in b[lo:hi]. Non-ASCII bytes count as letters, so addresses with
// internationalised local parts or domains are found.
func findEmail(b []byte, lo, hi int) bool {
	for {
		k := bytes.IndexByte(b[lo:hi], '@')
		if k < 0 {
			return false
		}
		at := lo + k
		if emailAt(b, at) {
			return true
		}
		lo = at + 1
	}
}

func isLocalChar(c byte) bool {
	if isAlnum(c) || c >= 0x80 {
		return true
	}
	switch c {
	case '.', '!', '#', '$', '%', '&', '\'', '*', '+', '/', '=', '?', '^', '_', '`', '{', '|', '}', '~', '-':
		return true
	}
	return false
}

func isDomainChar(c byte) bool { return isAlnum(c) || c >= 0x80 || c == '-' }

func emailAt(b []byte, at int) bool {
	// Local part: 1 to 64 characters, not only dots.
	s := at
	for s > 0 && at-s < 64 && isLocalChar(b[s-1]) {
		s--
	}
	if s == at || bytes.Count(b[s:at], []byte{'.'}) == at-s {
		return false
	}
	// Domain: labels separated by single dots, at most 253 bytes, ending
	// in a top-level domain of 2 to 24 ASCII letters (or xn-- punycode).
	i := at + 1
	labelStart, lastLabel, labels := i, -1, 0
	for i < len(b) && i-at <= 253 {
		c := b[i]
		if isDomainChar(c) {
			i++
			continue
		}
		if c == '.' && i > labelStart && i+1 < len(b) && isDomainChar(b[i+1]) {
			labels++
			lastLabel = i + 1
			i++
			labelStart = i
			continue
		}
		break
	}
	if labels == 0 || i == labelStart {
		return false
	}
	tld := b[lastLabel:i]
	if len(tld) >= 4 && bytes.EqualFold(tld[:4], []byte("xn--")) {
		return true
	}
	if len(tld) < 2 || len(tld) > 24 {
		return false
	}
	for _, c := range tld {
		if (c|0x20)-'a' >= 26 {
			return false
		}
	}
	return true
}
