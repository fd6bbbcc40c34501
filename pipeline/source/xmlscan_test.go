package source

import "testing"

// TestAttrs checks attrs, and attr through it: for each name, the first
// attribute of that local name (a prefix is not part of it), and nothing at
// or after an attribute without a quoted value.
func TestAttrs(t *testing.T) {
	for _, c := range []struct {
		tag     string
		r, s, t string // "-": not found
	}{
		{`c r="B2" s="3" t="s"`, "B2", "3", "s"},
		{`c t="inlineStr" r="AA10"`, "AA10", "-", "inlineStr"},
		{`c r="A1" r="B1" x:s="7"`, "A1", "7", "-"},
		{`c r = "A1"  s='2'/`, "A1", "2", "-"},
		{"c\tr=\"C3\"\n t=\"n\"", "C3", "-", "n"},
		{`c r="A1" s=4 t="s"`, "A1", "-", "-"},
		{`c s="1" bad t="s"`, "-", "1", "-"},
		{`c`, "-", "-", "-"},
		{`c r=""`, "", "-", "-"},
	} {
		sc := &xmlScanner{tag: []byte(c.tag)}
		v, ok := sc.attrs("r", "s", "t")
		for k, n := range []string{"r", "s", "t"} {
			want := []string{c.r, c.s, c.t}[k]
			got := string(v[k])
			if !ok[k] {
				got = "-"
			}
			if got != want {
				t.Errorf("<%s>: attrs %s = %q, want %q", c.tag, n, got, want)
			}
			one, oneOK := sc.attr(n)
			if oneOK != ok[k] || string(one) != string(v[k]) {
				t.Errorf("<%s>: attr(%q) = %q, %v; attrs found %q, %v", c.tag, n, one, oneOK, v[k], ok[k])
			}
		}
	}
}
