package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestKindNames(t *testing.T) {
	want := map[Kind]string{
		Invalid:           "invalid",
		Personnummer:      "personnummer",
		Samordningsnummer: "samordningsnummer",
		Reserve:           "reserve",
		BirthDate:         "birthdate",
	}
	for k, name := range want {
		if k.String() != name {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), name)
		}
		got, err := ParseKind(name)
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", name, got, err)
		}
		if got, err := ParseKind(" " + strings.ToUpper(name) + " "); err != nil || got != k {
			t.Errorf("ParseKind upper case %q = %v, %v", name, got, err)
		}
		var u Kind
		b, _ := k.MarshalText()
		if err := u.UnmarshalText(b); err != nil || u != k {
			t.Errorf("text round trip of %v gave %v, %v", k, u, err)
		}
	}
	if Kind(200).String() != "invalid" {
		t.Errorf("out-of-range kind prints %q", Kind(200).String())
	}
	if _, err := ParseKind("personnumer"); err == nil {
		t.Error("ParseKind accepted a misspelling")
	} else if !strings.Contains(err.Error(), "personnumer") {
		t.Errorf("error for a harmless name should echo it: %v", err)
	}
	if _, err := ParseKind("200002292381"); err == nil {
		t.Error("ParseKind accepted digits")
	} else if strings.Contains(err.Error(), "2381") {
		t.Errorf("ParseKind error echoes digits: %v", err)
	}
	var k Kind
	if err := k.UnmarshalText([]byte("nope")); err == nil || k != Invalid {
		t.Errorf("UnmarshalText(nope) = %v, %v", k, err)
	}
}

func TestLuhn(t *testing.T) {
	for _, s := range []string{"0002292381", "9001019802", "1401682396", "0000000000"} {
		if !Luhn(s) {
			t.Errorf("Luhn(%s) = false, want true", s)
		}
	}
	for _, s := range []string{"0002292380", "0002292831", "9001019803", "", "000229238", "00022923811", "000229-238", "abcdefghij"} {
		if Luhn(s) {
			t.Errorf("Luhn(%q) = true, want false", s)
		}
	}
	// Every single-digit change of a valid number breaks the check.
	valid := "0002292381"
	for i := range 10 {
		for d := byte('0'); d <= '9'; d++ {
			if d == valid[i] {
				continue
			}
			b := []byte(valid)
			b[i] = d
			if Luhn(string(b)) {
				t.Errorf("changing position %d still passes", i)
			}
		}
	}
	// The check digit withCheck computes agrees with Luhn.
	for _, nine := range []string{"000229238", "900101980", "991231999", "000000001"} {
		if !Luhn(withCheck(nine)) {
			t.Errorf("withCheck(%s) fails Luhn", nine)
		}
	}
}

func TestAgeAt(t *testing.T) {
	pnr, err := Parse("200002292381", ref2026) // born 29 Feb 2000
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		at   time.Time
		want int
	}{
		{day(2000, 2, 29), 0},
		{day(2000, 2, 28), -1},
		{day(2001, 2, 28), 0},
		{day(2001, 3, 1), 1},
		{day(2004, 2, 29), 4},
		{day(2026, 11, 23), 26},
		{time.Date(2026, 2, 28, 23, 0, 0, 0, time.FixedZone("CET", 3600)), 25},
	}
	for _, c := range cases {
		if got := pnr.AgeAt(c.at); got != c.want {
			t.Errorf("AgeAt(%s) = %d, want %d", c.at.Format(time.DateOnly), got, c.want)
		}
	}
	old, _ := Parse("900101+9802", ref2026)
	if got := old.AgeAt(ref2026); got != 136 {
		t.Errorf("age of a 1890 test number = %d, want 136", got)
	}
	if got := (ID{}).AgeAt(ref2026); got != -1 {
		t.Errorf("zero ID age = %d, want -1", got)
	}
	res, _ := Parse("991399-R123", ref2026)
	if got := res.AgeAt(ref2026); got != -1 {
		t.Errorf("reserve without date age = %d, want -1", got)
	}
}

// TestNoLeak formats and logs IDs every way a caller might and checks the
// identifier never shows.
func TestNoLeak(t *testing.T) {
	inputs := []string{"200002292381", "191500722390", "20150315-TF12", "1915-03-15"}
	for _, in := range inputs {
		id, err := Parse(in, ref2026)
		if err != nil {
			t.Fatal(err)
		}
		secrets := []string{id.Canonical, id.Canonical[2:]}
		check := func(how, out string) {
			t.Helper()
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s leaks the identifier: %s", how, out)
				}
			}
			if !strings.Contains(out, id.Kind.String()) {
				t.Errorf("%s does not name the kind: %s", how, out)
			}
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10v", "%-30s"} {
			check(verb, fmt.Sprintf(verb, id))
			check(verb+" pointer", fmt.Sprintf(verb, &id))
		}
		check("Sprint", fmt.Sprint(id))
		check("Sprintln", fmt.Sprintln(id))
		check("slice", fmt.Sprintf("%+v", []ID{id}))
		check("map", fmt.Sprintf("%v", map[string]ID{"k": id}))
		check("exported field", fmt.Sprintf("%+v", struct{ ID ID }{id}))
		check("exported field %#v", fmt.Sprintf("%#v", struct{ ID ID }{id}))
		check("String", id.String())
		check("GoString", id.GoString())

		b, err := json.Marshal(id)
		if err != nil {
			t.Fatal(err)
		}
		check("json", string(b))
		b, _ = json.Marshal(struct{ Who ID }{id})
		check("json field", string(b))

		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, nil))
		log.Info("row", "id", id, slog.Any("ptr", &id), slog.Group("g", "id", id))
		check("slog JSON", buf.String())
		buf.Reset()
		slog.New(slog.NewTextHandler(&buf, nil)).Info("row", "id", id)
		check("slog text", buf.String())
	}
	if got := fmt.Sprint(ID{}); got != "invalid(redacted)" {
		t.Errorf("zero ID prints %q", got)
	}
}
