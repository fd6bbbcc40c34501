package pseudonym

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func mustExtend(t testing.TB, k Key, secrets ...[]byte) Key {
	t.Helper()
	for _, s := range secrets {
		var err error
		if k, err = k.Extend(mustKey(t, s)); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// TestChainKnownAnswer computes a three-generation chain's values
// independently (crypto/hmac and the reference HKDF) from the documented
// construction.
func TestChainKnownAnswer(t *testing.T) {
	s1, s2, s3 := testSecret("g1"), testSecret("g2"), testSecret("g3")
	k := mustExtend(t, mustKey(t, s1), s2, s3)
	if k.Generation() != 3 || k.ID() != mustKey(t, s3).ID() {
		t.Fatalf("generation %d, ID %s: want 3 and the ID of the third secret", k.Generation(), k.ID())
	}
	p := mustPz(t, k, "lake")
	if p.KeyID() != k.ID() {
		t.Errorf("pseudonymizer key ID %s, want %s", p.KeyID(), k.ID())
	}

	want := refHMAC16(refHKDF(s1, "gallra pseudonym v1 domain=lake", 32), "pnr\x00199001011234")
	wantR := refHMAC16(refHKDF(s1, "gallra record-key v1 domain=lake", 32), "amea\x00record_id\x0017")
	for _, s := range [][]byte{s2, s3} {
		want = refHMAC16(refHKDF(s, "gallra rotate v1 domain=lake pseudonym", 32), string(want))
		wantR = refHMAC16(refHKDF(s, "gallra rotate v1 domain=lake record-key", 32), string(wantR))
	}
	if got := p.Pseudonym("pnr", "199001011234"); !bytes.Equal(got[:], want) {
		t.Errorf("chained pseudonym %x, want %x", got, want)
	}
	if got := p.RecordKey("amea", "record_id", "17"); !bytes.Equal(got[:], wantR) {
		t.Errorf("chained record key %x, want %x", got, wantR)
	}
	// Generation 1 alone is the key before any rotation: unchanged.
	g1 := mustPz(t, mustKey(t, s1), "lake").Pseudonym("pnr", "199001011234")
	if !bytes.Equal(g1[:], refHMAC16(refHKDF(s1, "gallra pseudonym v1 domain=lake", 32), "pnr\x00199001011234")) {
		t.Error("a key of one generation no longer derives as before")
	}
}

// TestAdvanceKeepsLinkage: a value stored under generation i, carried
// forward, equals what the current chain computes from the identifier.
func TestAdvanceKeepsLinkage(t *testing.T) {
	k1 := mustKey(t, testSecret("g1"))
	k2 := mustExtend(t, k1, testSecret("g2"))
	k3 := mustExtend(t, k2, testSecret("g3"))
	p3 := mustPz(t, k3, "lake")
	for _, old := range []Key{k1, k2, k3} {
		po := mustPz(t, old, "lake")
		v, err := p3.Advance(old.ID(), po.Pseudonym("pnr", "199001011234"))
		if err != nil {
			t.Fatal(err)
		}
		if v != p3.Pseudonym("pnr", "199001011234") {
			t.Errorf("pseudonym of generation %d carried forward differs from the current one", old.Generation())
		}
		r, err := p3.AdvanceRecordKey(old.ID(), po.RecordKey("amea", "x"))
		if err != nil {
			t.Fatal(err)
		}
		if r != p3.RecordKey("amea", "x") {
			t.Errorf("record key of generation %d carried forward differs from the current one", old.Generation())
		}
	}
	other := mustKey(t, testSecret("other"))
	_, err := p3.Advance(other.ID(), Pseudonym{1})
	if !errors.Is(err, ErrGeneration) || !strings.Contains(err.Error(), other.ID()) {
		t.Errorf("Advance from a foreign key: %v, want ErrGeneration naming its ID", err)
	}
}

// TestOldSecretAloneCannotCompute: neither the leaked old secret nor the
// new one alone yields the current pseudonyms, in any domain.
func TestOldSecretAloneCannotCompute(t *testing.T) {
	k1 := mustKey(t, testSecret("g1"))
	k2 := mustExtend(t, k1, testSecret("g2"))
	alone2 := mustKey(t, testSecret("g2"))
	for _, d := range []string{"lake", "cellkey"} {
		cur := mustPz(t, k2, d).Pseudonym("pnr", "199001011234")
		for name, k := range map[string]Key{"old secret": k1, "new secret alone": alone2} {
			if mustPz(t, k, d).Pseudonym("pnr", "199001011234") == cur {
				t.Errorf("domain %s: the %s computes the current pseudonym", d, name)
			}
		}
	}
	// The chain's first step uses a subkey of its own: the new secret's
	// lake pseudonym key is not the rotate key.
	if bytes.Equal(refHKDF(testSecret("g2"), "gallra rotate v1 domain=lake pseudonym", 32),
		refHKDF(testSecret("g2"), "gallra pseudonym v1 domain=lake", 32)) {
		t.Fatal("rotate and pseudonym subkeys coincide")
	}
}

func TestExtendAndGenerations(t *testing.T) {
	k1 := mustKey(t, testSecret("g1"))
	k2 := mustExtend(t, k1, testSecret("g2"))
	if k1.Generation() != 1 || k2.Generation() != 2 {
		t.Fatalf("generations %d and %d", k1.Generation(), k2.Generation())
	}
	if _, err := k2.Extend(k1); !errors.Is(err, ErrKey) {
		t.Errorf("a secret twice in a chain: %v, want ErrKey", err)
	}
	if _, err := k1.Extend(Key{}); !errors.Is(err, ErrKey) {
		t.Errorf("extend with the zero Key: %v", err)
	}
	gens := k2.Generations()
	if len(gens) != 2 || !gens[0].Equal(k1) || gens[1].ID() != k2.ID() || gens[1].Generation() != 1 {
		t.Fatalf("Generations: %v", gens)
	}
	back, err := gens[0].Extend(gens[1])
	if err != nil || !back.Equal(k2) {
		t.Errorf("rebuilding from Generations: %v, equal %v", err, back.Equal(k2))
	}
	if k2.Equal(k1) || k1.Equal(k2) || k2.Equal(gens[1]) {
		t.Error("chains of different generations compare equal")
	}
	if ids := k2.KeyIDs(); len(ids) != 2 || ids[0] != k1.ID() || ids[1] != k2.ID() {
		t.Errorf("KeyIDs %v", ids)
	}
	if k2.GenerationOf(k1.ID()) != 1 || k2.GenerationOf(k2.ID()) != 2 || k2.GenerationOf("gk1-0000000000000000") != 0 {
		t.Error("GenerationOf")
	}
	if !bytes.Equal(k2.Secret(), testSecret("g2")) {
		t.Error("Secret of a chain is not the current generation's")
	}
	// Extend does not change its receiver.
	if k1.Generation() != 1 || k1.ID() != gens[0].ID() {
		t.Error("Extend changed its receiver")
	}
	if s := fmt.Sprintf("%#v", k2); s != fmt.Sprintf("pseudonym.Key(%q, generation 2)", k2.ID()) {
		t.Errorf("GoString %s", s)
	}
}

func TestRecipient(t *testing.T) {
	secret := testSecret("g1")
	k := mustKey(t, secret)
	lakePz := mustPz(t, k, "lake")
	lp := lakePz.Pseudonym("pnr", "199001011234")
	scb, err := NewRecipient(k, "scb-2026")
	if err != nil {
		t.Fatal(err)
	}
	want := refHMAC16(refHKDF(secret, "gallra deliver v1 domain=scb-2026", 32), string(lp[:]))
	got := scb.Pseudonym(lp)
	if !bytes.Equal(got[:], want) {
		t.Errorf("recipient pseudonym %x, want %x", got, want)
	}
	board, _ := NewRecipient(k, "board")
	if board.Pseudonym(lp) == got || got == lp {
		t.Error("recipient pseudonyms coincide across domains or with the lake's")
	}
	if scb.Clone().Pseudonym(lp) != got {
		t.Error("Clone differs")
	}
	// The recipient key is the current generation's.
	k2 := mustExtend(t, k, testSecret("g2"))
	r2, _ := NewRecipient(k2, "scb-2026")
	if r2.KeyID() != k2.ID() || r2.Pseudonym(lp) == got {
		t.Error("a rotated key delivers under its old generation")
	}
	if _, err := NewRecipient(k, "SCB!"); !errors.Is(err, ErrDomain) {
		t.Errorf("bad domain: %v", err)
	}
	if _, err := NewRecipient(Key{}, "scb"); !errors.Is(err, ErrKey) {
		t.Errorf("zero key: %v", err)
	}
}

// TestChainNoLeak: a chain, its pseudonymizer and a recipient print,
// log and marshal as IDs only, for every secret of the chain.
func TestChainNoLeak(t *testing.T) {
	s1, s2 := testSecret("leak1"), testSecret("leak2")
	k := mustExtend(t, mustKey(t, s1), s2)
	p := mustPz(t, k, "lake")
	r, _ := NewRecipient(k, "scb")
	p.Pseudonym("pnr", "199001011234")
	r.Pseudonym(Pseudonym{1})
	secrets := [][]byte{s1, s2,
		refHKDF(s2, "gallra rotate v1 domain=lake pseudonym", 32),
		refHKDF(s2, "gallra rotate v1 domain=lake record-key", 32),
		refHKDF(s2, "gallra deliver v1 domain=scb", 32)}
	type holder struct {
		k Key
		p Pseudonymizer
		r Recipient
	}
	values := map[string]any{"Key": k, "*Pseudonymizer": p, "Recipient": *r, "*Recipient": r, "holder": holder{k, *p, *r}}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
			assertNoLeak(t, "fmt "+verb+" "+name, fmt.Sprintf(verb, v), secrets...)
		}
		j, _ := json.Marshal(v)
		assertNoLeak(t, "json "+name, string(j), secrets...)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "key", k, "pz", p, "rec", r)
	assertNoLeak(t, "slog", buf.String(), secrets...)
}

func TestChainNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	k := mustExtend(t, mustKey(t, testSecret("g1")), testSecret("g2"))
	p := mustPz(t, k, "lake")
	r, _ := NewRecipient(k, "scb")
	v := p.Pseudonym("pnr", "199001011234")
	if a := testing.AllocsPerRun(1000, func() { p.Pseudonym("pnr", "199001011234") }); a != 0 {
		t.Errorf("chained Pseudonym allocates %.1f times per call", a)
	}
	if a := testing.AllocsPerRun(1000, func() { r.Pseudonym(v) }); a != 0 {
		t.Errorf("Recipient.Pseudonym allocates %.1f times per call", a)
	}
}
