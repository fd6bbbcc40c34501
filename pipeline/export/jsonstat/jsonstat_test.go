package jsonstat

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/gallra/gallra/pipeline/export"
	"github.com/gallra/gallra/pipeline/export/exporttest"
	"github.com/gallra/gallra/transforms/table"
)

func write(t *testing.T, tab *table.Table) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSONStat(&buf, tab); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	tab := exporttest.Table()
	b := write(t, tab)
	if bytes.Contains(b, []byte(strconv.Itoa(exporttest.Hidden))) {
		t.Error("a suppressed cell's value is in the file")
	}
	if m := exporttest.Contains(string(b), tab, export.SymbolNote(tab)); len(m) > 0 {
		t.Errorf("missing metadata: %v", m)
	}

	// The shape, read as plain JSON.
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for key, want := range map[string]string{
		"version": `"2.0"`, "class": `"dataset"`, "updated": `"2026-03-14T09:26:00Z"`,
		"id":     `["ContentsCode","measure","year","sex"]`,
		"size":   `[1,4,3,3]`,
		"role":   `{"metric":["ContentsCode"],"time":["year"]}`,
		"status": `{"13":"..","22":"..","35":"..","4":"..","5":".."}`,
	} {
		if got := js(raw[key]); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	vals := raw["value"].([]any)
	if len(vals) != 36 || vals[0] != 5.0 || vals[3] != 38.0 || vals[4] != nil || vals[35] != nil || vals[34] != 379.0 {
		t.Errorf("value = %v", vals)
	}
	dim := raw["dimension"].(map[string]any)
	if got := js(dim["sex"]); got != `{"category":{"child":{"T":["K","M"]},"index":{"K":1,"M":2,"T":0},"label":{"K":"Kvinnor","M":"Män","T":"Totalt"}},"label":"Kön"}` {
		t.Errorf("sex = %s", got)
	}
	if got := js(dim["ContentsCode"].(map[string]any)["category"].(map[string]any)["unit"]); got != `{"participants_measure_year_sex":{"decimals":0,"label":"antal personer"}}` {
		t.Errorf("unit = %s", got)
	}
	if got := js(raw["extension"].(map[string]any)["method"]); got != js(tab.Method) {
		t.Errorf("extension method = %s", got)
	}

	got, err := CheckJSONStat(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := exporttest.Compare(got, tab, true); len(d) > 0 {
		t.Errorf("read back differs:\n%s", strings.Join(d, "\n"))
	}
	for _, f := range []struct{ name, got, want string }{
		{"title", got.Title, tab.Title}, {"unit", got.Unit, tab.Unit}, {"source", got.Source, tab.Source},
		{"contact", got.Contact, tab.Contact}, {"refperiod", got.RefPeriod, tab.RefPeriod},
		{"method", got.Method, tab.Method}, {"id", got.ID, tab.ID}, {"language", got.Language, tab.Language},
		{"notes", strings.Join(got.Notes, "|"), strings.Join(export.Notes(tab), "|")},
	} {
		if f.got != f.want {
			t.Errorf("%s %q, want %q", f.name, f.got, f.want)
		}
	}
	if !got.Updated.Equal(tab.Updated) {
		t.Errorf("updated %v", got.Updated)
	}
}

func TestDecimals(t *testing.T) {
	tab := exporttest.Table()
	tab.Values[0] = 0.125
	got, err := CheckJSONStat(write(t, tab))
	if err != nil {
		t.Fatal(err)
	}
	if got.Values[0] != 0.125 {
		t.Errorf("value %v", got.Values[0])
	}
	if !bytes.Contains(write(t, tab), []byte(`"decimals": 3`)) {
		t.Error("decimals not 3")
	}
}

func TestRefuses(t *testing.T) {
	for name, mod := range map[string]func(*table.Table){
		"invalid":      func(t *table.Table) { t.Values = t.Values[1:] },
		"no unit":      func(t *table.Table) { t.Unit = "" },
		"reserved id":  func(t *table.Table) { t.Dims[0].Code = MetricID },
		"repeated id":  func(t *table.Table) { t.Dims[1].Code = "sex" },
		"no reference": func(t *table.Table) { t.RefPeriod = " " },
	} {
		tab := exporttest.Table()
		mod(tab)
		if err := WriteJSONStat(&bytes.Buffer{}, tab); err == nil {
			t.Errorf("%s: written", name)
		}
	}
}

// TestCheckSpec feeds the checker datasets that break one rule of the
// specification each, starting from a small valid one.
func TestCheckSpec(t *testing.T) {
	valid := `{"version":"2.0","class":"dataset","id":["a","b"],"size":[2,2],
	"dimension":{"a":{"category":{"index":["x","y"]}},"b":{"category":{"index":{"p":0,"q":1},"label":{"p":"P"}}}},
	"value":[1,2,null,4],"status":{"2":".."}}`
	got, err := CheckJSONStat([]byte(valid))
	if err != nil {
		t.Fatalf("valid: %v", err)
	}
	if got.Status[2] != ".." || got.Values[3] != 4 || got.Dims[1].Categories[0].Label != "P" || got.Dims[1].Categories[1].Label != "q" {
		t.Errorf("valid read as %+v", got)
	}
	sparse := strings.Replace(valid, `"value":[1,2,null,4]`, `"value":{"0":1,"1":2,"3":4}`, 1)
	if _, err := CheckJSONStat([]byte(sparse)); err != nil {
		t.Errorf("sparse values: %v", err)
	}
	for name, r := range map[string][2]string{
		"version":          {`"2.0"`, `"1.0"`},
		"class":            {`"dataset"`, `"collection"`},
		"size length":      {`[2,2]`, `[2]`},
		"size vs index":    {`[2,2]`, `[2,3]`},
		"value length":     {`[1,2,null,4]`, `[1,2,null]`},
		"value type":       {`[1,2,null,4]`, `[1,2,null,"4"]`},
		"index repeated":   {`{"p":0,"q":1}`, `{"p":0,"q":0}`},
		"index range":      {`{"p":0,"q":1}`, `{"p":0,"q":2}`},
		"label unknown":    {`{"p":"P"}`, `{"z":"P"}`},
		"status range":     {`{"2":".."}`, `{"4":".."}`},
		"status key":       {`{"2":".."}`, `{"two":".."}`},
		"null w/o status":  {`{"2":".."}`, `{"1":".."}`},
		"missing dim":      {`"b":{"category"`, `"c":{"category"`},
		"no category":      {`"a":{"category":{"index":["x","y"]}}`, `"a":{"label":"A"}`},
		"role unknown id":  {`"value"`, `"role":{"time":["c"]},"value"`},
		"updated not date": {`"value"`, `"updated":"yesterday","value"`},
		"not json":         {`}`, ``},
	} {
		bad := strings.Replace(valid, r[0], r[1], 1)
		if bad == valid {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := CheckJSONStat([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
