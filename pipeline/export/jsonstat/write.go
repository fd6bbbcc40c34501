// Package jsonstat writes statistical tables as JSON-stat 2.0 datasets
// (https://json-stat.org/format/) and checks JSON-stat 2.0 datasets against
// the format's rules, reading them back into tables.
//
// [WriteJSONStat] writes one dataset: "version" "2.0", "class" "dataset",
// the title as "label", "source", "updated" in RFC 3339 (ISO 8601) UTC,
// "id" and "size" with the table's dimensions in order, "role", and each
// dimension with its categories' "index" (an object, code to position) and
// "label". A total category is the parent of all the others in "child".
// As in the JSON-stat that Statistics Sweden's PxWeb API serves, a metric
// dimension "ContentsCode" of one category carries the unit (category
// "unit" with "label" and "decimals"); it is listed first in "id" and, with
// size 1, does not change the order of "value". "value" is an array in
// row-major order (last dimension fastest) with null for a suppressed cell,
// whose value is never written; "status" is an object from cell index to
// "..". The footnotes and the symbol explanation are "note"; contact,
// reference period, language, table id, the symbol table and the
// disclosure-control method are in "extension".
package jsonstat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gallra/gallra/pipeline/export"
	"github.com/gallra/gallra/transforms/table"
)

// MetricID is the id of the one-category metric dimension that carries the
// unit.
const MetricID = "ContentsCode"

// ordered is a JSON object that keeps its keys in the order given.
type ordered struct {
	keys []string
	vals []any
}

func (o *ordered) add(k string, v any) { o.keys = append(o.keys, k); o.vals = append(o.vals, v) }

func (o *ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type dataset struct {
	Version   string              `json:"version"`
	Class     string              `json:"class"`
	Label     string              `json:"label"`
	Source    string              `json:"source"`
	Updated   string              `json:"updated"`
	ID        []string            `json:"id"`
	Size      []int               `json:"size"`
	Role      map[string][]string `json:"role"`
	Dimension *ordered            `json:"dimension"`
	Value     []*float64          `json:"value"`
	Status    *ordered            `json:"status,omitempty"`
	Note      []string            `json:"note"`
	Extension extension           `json:"extension"`
}

// extension is what JSON-stat has no property for.
type extension struct {
	TableID   string            `json:"tableid,omitempty"`
	Language  string            `json:"language,omitempty"`
	Contact   string            `json:"contact"`
	RefPeriod string            `json:"refperiod"`
	Method    string            `json:"method"`
	Symbols   map[string]string `json:"symbols"`
}

type dimension struct {
	Label    string   `json:"label"`
	Category category `json:"category"`
}

type category struct {
	Index *ordered            `json:"index"`
	Label *ordered            `json:"label"`
	Child map[string][]string `json:"child,omitempty"`
	Unit  map[string]unit     `json:"unit,omitempty"`
}

type unit struct {
	Label    string `json:"label"`
	Decimals int    `json:"decimals"`
}

// WriteJSONStat writes t to w as a JSON-stat 2.0 dataset. It refuses a
// table that fails export.Check or has a dimension whose code is empty,
// repeated or MetricID.
func WriteJSONStat(w io.Writer, t *table.Table) error {
	if err := export.Check(t); err != nil {
		return err
	}
	ds := dataset{
		Version: "2.0", Class: "dataset", Label: t.Title, Source: t.Source,
		Updated:   t.Updated.UTC().Format(time.RFC3339),
		Role:      map[string][]string{"metric": {MetricID}},
		Dimension: &ordered{},
		Note:      export.Notes(t),
		Extension: extension{
			TableID: t.ID, Language: t.Language, Contact: t.Contact, RefPeriod: t.RefPeriod,
			Method: t.Method, Symbols: map[string]string{table.StatusSuppressed: export.SymbolNote(t)},
		},
	}
	metricCode := t.ID
	if metricCode == "" {
		metricCode = "value"
	}
	metricLabel := "tabellinnehåll"
	if !export.Swedish(t) {
		metricLabel = "contents"
	}
	ds.ID = append(ds.ID, MetricID)
	ds.Size = append(ds.Size, 1)
	ds.Dimension.add(MetricID, dimension{Label: metricLabel, Category: category{
		Index: &ordered{keys: []string{metricCode}, vals: []any{0}},
		Label: &ordered{keys: []string{metricCode}, vals: []any{t.Unit}},
		Unit:  map[string]unit{metricCode: {Label: t.Unit, Decimals: decimals(t)}},
	}})
	seen := map[string]bool{MetricID: true}
	for _, d := range t.Dims {
		if d.Code == "" || seen[d.Code] {
			return fmt.Errorf("jsonstat: table %s: dimension code %q empty, repeated or reserved", t.ID, d.Code)
		}
		seen[d.Code] = true
		ds.ID = append(ds.ID, d.Code)
		ds.Size = append(ds.Size, len(d.Categories))
		if d.Time {
			ds.Role["time"] = append(ds.Role["time"], d.Code)
		}
		c := category{Index: &ordered{}, Label: &ordered{}}
		var others []string
		for i, cat := range d.Categories {
			c.Index.add(cat.Code, i)
			c.Label.add(cat.Code, export.Label(cat))
			if cat.Code != d.Total {
				others = append(others, cat.Code)
			}
		}
		if d.Total != "" {
			c.Child = map[string][]string{d.Total: others}
		}
		ds.Dimension.add(d.Code, dimension{Label: export.DimLabel(d), Category: c})
	}
	ds.Value = make([]*float64, len(t.Values))
	for i := range t.Values {
		if t.Status[i] == table.StatusSuppressed {
			if ds.Status == nil {
				ds.Status = &ordered{}
			}
			ds.Status.add(strconv.Itoa(i), table.StatusSuppressed)
			continue
		}
		ds.Value[i] = &t.Values[i]
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(ds); err != nil {
		return fmt.Errorf("jsonstat: table %s: %w", t.ID, err)
	}
	return nil
}

// decimals is the largest number of decimals a published value has.
func decimals(t *table.Table) int {
	d := 0
	for i, v := range t.Values {
		if t.Status[i] == table.StatusSuppressed {
			continue
		}
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if dot := bytes.IndexByte([]byte(s), '.'); dot >= 0 && len(s)-dot-1 > d {
			d = len(s) - dot - 1
		}
	}
	return d
}
