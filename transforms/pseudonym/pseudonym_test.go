package pseudonym

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// testSecret is a synthetic secret used only by these tests.
func testSecret(label string) []byte {
	s := sha256.Sum256([]byte("gallra pseudonym test secret " + label))
	return s[:]
}

func mustKey(t testing.TB, secret []byte) Key {
	t.Helper()
	k, err := NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPz(t testing.TB, k Key, domain string) *Pseudonymizer {
	t.Helper()
	p, err := NewPseudonymizer(k, domain)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// refHKDF is HKDF-SHA-256 (RFC 5869) with an empty salt, written out with
// crypto/hmac only, independently of the code under test.
func refHKDF(secret []byte, info string, n int) []byte {
	ext := hmac.New(sha256.New, make([]byte, sha256.Size)) // empty salt = HashLen zeros
	ext.Write(secret)
	prk := ext.Sum(nil)
	var okm, prev []byte
	for i := byte(1); len(okm) < n; i++ {
		m := hmac.New(sha256.New, prk)
		m.Write(prev)
		m.Write([]byte(info))
		m.Write([]byte{i})
		prev = m.Sum(nil)
		okm = append(okm, prev...)
	}
	return okm[:n]
}

func refHMAC16(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)[:16]
}

// TestRefHKDF checks the reference HKDF against RFC 5869 test case 3
// (SHA-256, zero-length salt and info).
func TestRefHKDF(t *testing.T) {
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	want := "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
	if got := hex.EncodeToString(refHKDF(ikm, "", 42)); got != want {
		t.Fatalf("reference HKDF = %s, want %s", got, want)
	}
}

// TestKnownAnswer computes the expected values independently (crypto/hmac
// and a hand-written HKDF) and also pins them, so that an accidental change
// of any derivation (which would orphan every pseudonym in a lake) fails.
func TestKnownAnswer(t *testing.T) {
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i + 1)
	}
	k := mustKey(t, secret)
	p := mustPz(t, k, "lake")

	wantID := "gk1-" + hex.EncodeToString(refHKDF(secret, "gallra key-id v1", 8))
	if k.ID() != wantID || p.KeyID() != wantID {
		t.Errorf("ID = %s / %s, want %s", k.ID(), p.KeyID(), wantID)
	}

	psub := refHKDF(secret, "gallra pseudonym v1 domain=lake", 32)
	rsub := refHKDF(secret, "gallra record-key v1 domain=lake", 32)
	wantP := refHMAC16(psub, "pnr\x00199001011234")
	wantR := refHMAC16(rsub, "src\x00pnr\x002024-01")

	gotP := p.Pseudonym("pnr", "199001011234")
	gotR := p.RecordKey("src", "pnr", "2024-01")
	if !bytes.Equal(gotP[:], wantP) {
		t.Errorf("Pseudonym = %x, want %x", gotP, wantP)
	}
	if !bytes.Equal(gotR[:], wantR) {
		t.Errorf("RecordKey = %x, want %x", gotR, wantR)
	}

	// Pinned values (computed once with the reference code above).
	pinned := map[string]string{
		"id":        "gk1-63ec05feabbf279a",
		"pseudonym": "a9809a1f-bcff-6ba8-e54c-c00a6cda7b7a",
		"recordkey": "28c81809-a8bf-063c-e91d-02dc4159e000",
	}
	got := map[string]string{"id": k.ID(), "pseudonym": gotP.String(), "recordkey": gotR.String()}
	for name, want := range pinned {
		if got[name] != want {
			t.Errorf("pinned %s = %s, want %s", name, got[name], want)
		}
	}
}

func TestDeterministicAndSeparated(t *testing.T) {
	k1 := mustKey(t, testSecret("one"))
	k2 := mustKey(t, testSecret("two"))
	lake := mustPz(t, k1, "lake")
	lake2 := mustPz(t, k1, "lake")
	scb := mustPz(t, k1, "delivery.scb-2026")
	other := mustPz(t, k2, "lake")

	a := lake.Pseudonym("pnr", "199001011234")
	if b := lake.Pseudonym("pnr", "199001011234"); a != b {
		t.Error("same pseudonymizer, same input: different pseudonyms")
	}
	if b := lake2.Pseudonym("pnr", "199001011234"); a != b {
		t.Error("same key and domain, new pseudonymizer: different pseudonyms")
	}
	if b := scb.Pseudonym("pnr", "199001011234"); a == b {
		t.Error("different domains gave the same pseudonym")
	}
	if b := other.Pseudonym("pnr", "199001011234"); a == b {
		t.Error("different keys gave the same pseudonym")
	}
	if b := lake.Pseudonym("samnr", "199001011234"); a == b {
		t.Error("kind is not part of the input")
	}
	if b := lake.Pseudonym("pnr", "199001011235"); a == b {
		t.Error("different identifiers gave the same pseudonym")
	}
	if b := lake.RecordKey("pnr", "199001011234"); a == b {
		t.Error("RecordKey uses the pseudonym subkey")
	}
	if lake.RecordKey("a", "b") != lake2.RecordKey("a", "b") {
		t.Error("RecordKey not deterministic")
	}
	if lake.RecordKey("a", "b") == scb.RecordKey("a", "b") {
		t.Error("RecordKey: different domains gave the same key")
	}
	if lake.RecordKey("a", "b") == lake.RecordKey("b", "a") {
		t.Error("RecordKey ignores order")
	}
	if lake.Domain() != "lake" || scb.Domain() != "delivery.scb-2026" {
		t.Errorf("Domain() = %q, %q", lake.Domain(), scb.Domain())
	}
	if k1.ID() == k2.ID() {
		t.Error("different keys, same ID")
	}
}

// TestInjective checks that field boundaries cannot be forged with NUL bytes.
func TestInjective(t *testing.T) {
	p := mustPz(t, mustKey(t, testSecret("one")), "lake")
	pairs := [][2]Pseudonym{
		{p.RecordKey("a\x00b"), p.RecordKey("a", "b")},
		{p.RecordKey("a", "\x00b"), p.RecordKey("a\x00", "b")},
		{p.RecordKey("a\x01\x03"), p.RecordKey("a\x00")},
		{p.RecordKey(""), p.RecordKey()},
		{p.RecordKey("", ""), p.RecordKey("")},
		{p.Pseudonym("a\x00", "b"), p.Pseudonym("a", "\x00b")},
	}
	for i, pr := range pairs {
		if pr[0] == pr[1] {
			t.Errorf("pair %d: different field lists gave the same value", i)
		}
	}
	// Escaping leaves fields without 0x00/0x01 untouched (the plain join).
	sub := refHKDF(testSecret("one"), "gallra record-key v1 domain=lake", 32)
	got := p.RecordKey("x\x02y", "z")
	if !bytes.Equal(got[:], refHMAC16(sub, "x\x02y\x00z")) {
		t.Error("plain fields are not joined verbatim")
	}
	got = p.RecordKey("a\x00b")
	if !bytes.Equal(got[:], refHMAC16(sub, "a\x01\x03b")) {
		t.Error("NUL is not escaped as 01 03")
	}
}

func TestNewKeyRefuses(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewKey(make([]byte, n)); !errors.Is(err, ErrKey) {
			t.Errorf("NewKey(%d bytes) err = %v, want ErrKey", n, err)
		}
	}
	if _, err := NewKey(make([]byte, 32)); !errors.Is(err, ErrKey) {
		t.Errorf("NewKey(all zeros) err = %v, want ErrKey", err)
	}
	var zero Key
	if !zero.IsZero() || zero.ID() != "" || zero.Secret() != nil {
		t.Error("zero Key is not empty")
	}
	if _, err := NewPseudonymizer(zero, "lake"); !errors.Is(err, ErrKey) {
		t.Errorf("NewPseudonymizer(zero Key) err = %v, want ErrKey", err)
	}
}

func TestKeyCopiesSecret(t *testing.T) {
	s := testSecret("one")
	k := mustKey(t, s)
	id := k.ID()
	s[0] ^= 0xff
	if k.ID() != id || bytes.Equal(k.Secret(), s) {
		t.Error("Key aliases the caller's slice")
	}
	out := k.Secret()
	out[0] ^= 0xff
	if !bytes.Equal(k.Secret(), testSecret("one")) {
		t.Error("Secret returns an alias")
	}
	if !k.Equal(mustKey(t, testSecret("one"))) || k.Equal(mustKey(t, testSecret("two"))) || k.Equal(Key{}) {
		t.Error("Equal is wrong")
	}
}

func TestDomains(t *testing.T) {
	k := mustKey(t, testSecret("one"))
	for _, d := range []string{"lake", "delivery.scb-2026", "a", "x_y", strings.Repeat("a", 64)} {
		if _, err := NewPseudonymizer(k, d); err != nil {
			t.Errorf("domain %q refused: %v", d, err)
		}
	}
	for _, d := range []string{"", "Lake", "la ke", "lake/x", "läke", "lake\x00", strings.Repeat("a", 65)} {
		if _, err := NewPseudonymizer(k, d); !errors.Is(err, ErrDomain) {
			t.Errorf("domain %q err = %v, want ErrDomain", d, err)
		}
	}
}

func TestPseudonymText(t *testing.T) {
	p := mustPz(t, mustKey(t, testSecret("one")), "lake")
	for i := 0; i < 100; i++ {
		ps := p.Pseudonym("pnr", fmt.Sprint(i))
		s := ps.String()
		if want := uuid.UUID(ps).String(); s != want {
			t.Fatalf("String = %s, google/uuid says %s", s, want)
		}
		back, err := ParsePseudonym(s)
		if err != nil || back != ps {
			t.Fatalf("ParsePseudonym(%s) = %v, %v", s, back, err)
		}
		back, err = ParsePseudonym(strings.ToUpper(s))
		if err != nil || back != ps {
			t.Fatalf("ParsePseudonym(upper) = %v, %v", back, err)
		}
	}
	bad := []string{
		"", "199001011234", "4dfd03425f660b442bd66ac49453b1cb",
		"4dfd0342-5f66-0b44-2bd6-6ac49453b1c", "4dfd0342-5f66-0b44-2bd6-6ac49453b1cbb",
		"4dfd0342x5f66-0b44-2bd6-6ac49453b1cb", "4dfd0342-5f66-0b44-2bd6-6ac49453b1cg",
		"{4dfd0342-5f66-0b44-2bd6-6ac49453b1}",
	}
	for _, s := range bad {
		_, err := ParsePseudonym(s)
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("ParsePseudonym(%q) err = %v, want ErrSyntax", s, err)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q echoes its input", err)
		}
	}
}

// leakForms lists encodings of b (and of its first bytes) that must never
// show up in output.
func leakForms(b []byte) []string {
	inner := func(s string) string { return s[strings.IndexAny(s, "[{")+1 : len(s)-1] }
	dec := strings.Fields(inner(fmt.Sprint(b)))
	return []string{
		string(b),
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		hex.EncodeToString(b[:8]), strings.ToUpper(hex.EncodeToString(b[:8])),
		base64.StdEncoding.EncodeToString(b), base64.URLEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b[:12]), base64.RawURLEncoding.EncodeToString(b[:12]),
		strings.Join(dec[:6], " "),       // %v / %d of a byte slice or array
		strings.Join(dec[:6], ","),       // json of a []int
		inner(fmt.Sprintf("%#v", b[:4])), // %#v: 0x1, 0x2, ...
	}
}

func assertNoLeak(t *testing.T, what, out string, secrets ...[]byte) {
	t.Helper()
	for _, s := range secrets {
		for _, f := range leakForms(s) {
			if f != "" && strings.Contains(out, f) {
				t.Errorf("%s leaks key material (form %q) in %q", what, f, out)
			}
		}
	}
}

func TestNoLeak(t *testing.T) {
	secret := testSecret("leak")
	k := mustKey(t, secret)
	p := mustPz(t, k, "lake")
	psub := refHKDF(secret, "gallra pseudonym v1 domain=lake", 32)
	rsub := refHKDF(secret, "gallra record-key v1 domain=lake", 32)
	secrets := [][]byte{secret, psub, rsub}
	// hmac's padded keys (key XOR ipad/opad) are key material too.
	for _, sub := range [][]byte{psub, rsub} {
		for _, pad := range []byte{0x36, 0x5c} {
			x := make([]byte, 32)
			for i := range x {
				x[i] = sub[i] ^ pad
			}
			secrets = append(secrets, x)
		}
	}
	// Make sure the pseudonymizer's HMAC state is populated.
	p.Pseudonym("pnr", "199001011234")

	// Unexported fields are printed by reflection, without their methods.
	type holder struct {
		K  Key
		P  *Pseudonymizer
		k  Key
		kp *Key
		pp *Pseudonymizer
		pv Pseudonymizer
	}
	h := holder{k, p, k, &k, p, *p}
	values := map[string]any{
		"Key": k, "*Key": &k, "*Pseudonymizer": p, "Pseudonymizer": *p,
		"holder": h, "*holder": &h,
		"slice": []any{k, p},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"}
	for name, v := range values {
		for _, verb := range verbs {
			assertNoLeak(t, "fmt "+verb+" "+name, fmt.Sprintf(verb, v), secrets...)
		}
		assertNoLeak(t, "Sprint "+name, fmt.Sprint(v), secrets...)
		assertNoLeak(t, "Sprintln "+name, fmt.Sprintln(v), secrets...)
	}
	if s := fmt.Sprintf("%v", k); s != k.ID() {
		t.Errorf("%%v of Key = %q, want its ID", s)
	}

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("run", "key", k, "pz", p, slog.Any("kp", &k), slog.Any("pzv", *p), "holder", h)
	}
	assertNoLeak(t, "slog", buf.String(), secrets...)
	if !strings.Contains(buf.String(), k.ID()) {
		t.Errorf("slog output lacks the key ID: %s", buf.String())
	}

	for name, v := range values {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json %s: %v", name, err)
		}
		assertNoLeak(t, "json "+name, string(j), secrets...)
	}
	if j, _ := json.Marshal(k); string(j) != `"`+k.ID()+`"` {
		t.Errorf("json of Key = %s", j)
	}

	// Errors never carry key material either.
	_, err := NewKey(secret[:31])
	assertNoLeak(t, "NewKey error", err.Error(), secret[:31], secret)
}

func TestCloneConcurrent(t *testing.T) {
	base := mustPz(t, mustKey(t, testSecret("one")), "lake")
	const n = 2000
	want := make([]Pseudonym, n)
	wantR := make([]Pseudonym, n)
	for i := range want {
		want[i] = base.Pseudonym("pnr", fmt.Sprintf("%012d", i))
		wantR[i] = base.RecordKey("src", fmt.Sprint(i), "2024-01")
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		c := base.Clone()
		if c.KeyID() != base.KeyID() || c.Domain() != base.Domain() {
			t.Fatal("Clone lost key ID or domain")
		}
		wg.Add(1)
		go func(g int, c *Pseudonymizer) {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				for i := range want {
					j := (i + g*97) % n
					if c.Pseudonym("pnr", fmt.Sprintf("%012d", j)) != want[j] ||
						c.RecordKey("src", fmt.Sprint(j), "2024-01") != wantR[j] {
						errs <- fmt.Sprintf("goroutine %d row %d differs", g, j)
						return
					}
				}
			}
		}(g, c)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	p := mustPz(t, mustKey(t, testSecret("one")), "lake")
	if a := testing.AllocsPerRun(1000, func() { p.Pseudonym("pnr", "199001011234") }); a != 0 {
		t.Errorf("Pseudonym allocates %.1f times per call", a)
	}
	if a := testing.AllocsPerRun(1000, func() { p.RecordKey("src", "pnr", "2024-01", "2024-06") }); a != 0 {
		t.Errorf("RecordKey allocates %.1f times per call", a)
	}
}

func BenchmarkPseudonym(b *testing.B) {
	p := mustPz(b, mustKey(b, testSecret("one")), "lake")
	b.ReportAllocs()
	var sink Pseudonym
	for b.Loop() {
		sink = p.Pseudonym("pnr", "199001011234")
	}
	_ = sink
}

func BenchmarkRecordKey(b *testing.B) {
	p := mustPz(b, mustKey(b, testSecret("one")), "lake")
	b.ReportAllocs()
	var sink Pseudonym
	for b.Loop() {
		sink = p.RecordKey("amea", "a9809a1f-bcff-6ba8-e54c-c00a6cda7b7a", "ab12", "2024-01-15")
	}
	_ = sink
}

func BenchmarkPseudonymString(b *testing.B) {
	var p Pseudonym
	b.ReportAllocs()
	for b.Loop() {
		_ = p.String()
	}
}
