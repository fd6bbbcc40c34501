package jsonstat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gallra/gallra/transforms/table"
)

// CheckJSONStat checks that b is a JSON-stat 2.0 dataset as the format
// specifies and returns it as a table. It checks: "version" "2.0" and
// "class" "dataset"; "id" and "size" of equal length, ids unique, sizes
// positive, and a "dimension" entry for every id; for each dimension a
// "category" whose "index" (array or object) numbers exactly "size"
// categories 0..n-1 (or, without index, a "label" of one category), whose
// "label", "child" and "unit" name only categories of the dimension; "role"
// naming only ids; "value" as an array of numbers and nulls of length the
// product of the sizes, or an object with keys in range; "status" as a
// string, an array of one or of every cell, or an object with keys in
// range; "updated", if present, in ISO 8601.
//
// To be a table, a cell must also have a number and no status, or null and
// the status ".." (a suppressed cell); a null without it, or a number with
// it, is an error. A role-"metric" dimension of one category is not a
// table dimension: its unit label (or category label) is the table's Unit.
// Dimension Code is the id; a category that is the parent in "child" of
// all the others is the dimension's Total; role "time" sets Time. "label",
// "source" and "note" are Title, Source and Notes; "extension" gives
// contact, refperiod, method, language and tableid when WriteJSONStat wrote
// them.
func CheckJSONStat(b []byte) (*table.Table, error) {
	var ds struct {
		Version   *string                    `json:"version"`
		Class     *string                    `json:"class"`
		Label     string                     `json:"label"`
		Source    string                     `json:"source"`
		Updated   string                     `json:"updated"`
		ID        []string                   `json:"id"`
		Size      []int                      `json:"size"`
		Role      map[string][]string        `json:"role"`
		Dimension map[string]json.RawMessage `json:"dimension"`
		Value     json.RawMessage            `json:"value"`
		Status    json.RawMessage            `json:"status"`
		Note      []string                   `json:"note"`
		Extension struct {
			TableID, Language, Contact, RefPeriod, Method string
		} `json:"extension"`
	}
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("jsonstat: %w", err)
	}
	if ds.Version == nil || *ds.Version != "2.0" {
		return nil, errors.New(`jsonstat: "version" is not "2.0"`)
	}
	if ds.Class == nil || *ds.Class != "dataset" {
		return nil, errors.New(`jsonstat: "class" is not "dataset"`)
	}
	if len(ds.ID) == 0 || len(ds.ID) != len(ds.Size) {
		return nil, fmt.Errorf(`jsonstat: %d ids and %d sizes`, len(ds.ID), len(ds.Size))
	}
	n := 1
	isID := map[string]bool{}
	for i, id := range ds.ID {
		if isID[id] {
			return nil, fmt.Errorf("jsonstat: id %q repeated", id)
		}
		isID[id] = true
		if ds.Size[i] < 1 {
			return nil, fmt.Errorf("jsonstat: size of %q is %d", id, ds.Size[i])
		}
		n *= ds.Size[i]
	}
	if len(ds.Dimension) != len(ds.ID) {
		return nil, fmt.Errorf(`jsonstat: %d dimensions for %d ids`, len(ds.Dimension), len(ds.ID))
	}
	roleOf := map[string]string{}
	for role, ids := range ds.Role {
		if role != "time" && role != "geo" && role != "metric" {
			return nil, fmt.Errorf("jsonstat: unknown role %q", role)
		}
		for _, id := range ids {
			if !isID[id] {
				return nil, fmt.Errorf("jsonstat: role %q names %q, which is not an id", role, id)
			}
			roleOf[id] = role
		}
	}

	var dims []table.Dimension
	unit := ""
	for i, id := range ds.ID {
		raw, ok := ds.Dimension[id]
		if !ok {
			return nil, fmt.Errorf("jsonstat: no dimension %q", id)
		}
		d, u, err := checkDimension(id, raw, ds.Size[i])
		if err != nil {
			return nil, err
		}
		if roleOf[id] == "metric" && ds.Size[i] == 1 {
			unit = u
			continue
		}
		d.Time = roleOf[id] == "time"
		dims = append(dims, d)
	}

	values, err := checkValues(ds.Value, n)
	if err != nil {
		return nil, err
	}
	status, err := checkStatus(ds.Status, n)
	if err != nil {
		return nil, err
	}
	t := table.New(dims...)
	for i := range n {
		switch {
		case values[i] == nil && status[i] == table.StatusSuppressed:
			t.Status[i] = table.StatusSuppressed
		case values[i] != nil && status[i] == "":
			t.Values[i] = *values[i]
		case values[i] == nil:
			return nil, fmt.Errorf("jsonstat: cell %d is null without status %q", i, table.StatusSuppressed)
		default:
			return nil, fmt.Errorf("jsonstat: cell %d has a value and status %q", i, status[i])
		}
	}
	if ds.Updated != "" {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02"} {
			if t.Updated, err = time.Parse(layout, ds.Updated); err == nil {
				break
			}
		}
		if err != nil {
			return nil, errors.New(`jsonstat: "updated" is not ISO 8601`)
		}
	}
	t.Title, t.Source, t.Notes, t.Unit = ds.Label, ds.Source, ds.Note, unit
	x := ds.Extension
	t.ID, t.Language, t.Contact, t.RefPeriod, t.Method = x.TableID, x.Language, x.Contact, x.RefPeriod, x.Method
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("jsonstat: %w", err)
	}
	return t, nil
}

// checkDimension checks one dimension object and returns it with the unit
// label of its first category that has one.
func checkDimension(id string, raw json.RawMessage, size int) (table.Dimension, string, error) {
	var dim struct {
		Label    string `json:"label"`
		Category *struct {
			Index json.RawMessage            `json:"index"`
			Label map[string]string          `json:"label"`
			Child map[string][]string        `json:"child"`
			Unit  map[string]json.RawMessage `json:"unit"`
		} `json:"category"`
	}
	d := table.Dimension{Code: id}
	if err := json.Unmarshal(raw, &dim); err != nil {
		return d, "", fmt.Errorf("jsonstat: dimension %q: %w", id, err)
	}
	if dim.Category == nil {
		return d, "", fmt.Errorf("jsonstat: dimension %q has no category", id)
	}
	d.Label = dim.Label
	c := dim.Category
	codes := make([]string, size)
	switch {
	case len(c.Index) == 0 || string(c.Index) == "null":
		if size != 1 || len(c.Label) != 1 {
			return d, "", fmt.Errorf("jsonstat: dimension %q: no index, and not one labelled category", id)
		}
		for k := range c.Label {
			codes[0] = k
		}
	case c.Index[0] == '[':
		var arr []string
		if err := json.Unmarshal(c.Index, &arr); err != nil {
			return d, "", fmt.Errorf("jsonstat: dimension %q: index: %w", id, err)
		}
		if len(arr) != size {
			return d, "", fmt.Errorf("jsonstat: dimension %q: %d categories, size %d", id, len(arr), size)
		}
		copy(codes, arr)
	default:
		var obj map[string]int
		if err := json.Unmarshal(c.Index, &obj); err != nil {
			return d, "", fmt.Errorf("jsonstat: dimension %q: index: %w", id, err)
		}
		if len(obj) != size {
			return d, "", fmt.Errorf("jsonstat: dimension %q: %d categories, size %d", id, len(obj), size)
		}
		for k, p := range obj {
			if p < 0 || p >= size || codes[p] != "" {
				return d, "", fmt.Errorf("jsonstat: dimension %q: index positions are not 0..%d", id, size-1)
			}
			codes[p] = k
		}
	}
	pos := map[string]int{}
	for i, code := range codes {
		if _, dup := pos[code]; dup {
			return d, "", fmt.Errorf("jsonstat: dimension %q: category %q repeated", id, code)
		}
		pos[code] = i
	}
	for k := range c.Label {
		if _, ok := pos[k]; !ok {
			return d, "", fmt.Errorf("jsonstat: dimension %q: label for unknown category %q", id, k)
		}
	}
	for _, code := range codes {
		label, ok := c.Label[code]
		if !ok {
			label = code
		}
		d.Categories = append(d.Categories, table.Category{Code: code, Label: label})
	}
	for parent, kids := range c.Child {
		if _, ok := pos[parent]; !ok {
			return d, "", fmt.Errorf("jsonstat: dimension %q: child of unknown category %q", id, parent)
		}
		for _, k := range kids {
			if _, ok := pos[k]; !ok || k == parent {
				return d, "", fmt.Errorf("jsonstat: dimension %q: unknown or self child %q", id, k)
			}
		}
		if len(kids) == size-1 {
			d.Total = parent
		}
	}
	unit := ""
	for k, raw := range c.Unit {
		if _, ok := pos[k]; !ok {
			return d, "", fmt.Errorf("jsonstat: dimension %q: unit of unknown category %q", id, k)
		}
		var u struct {
			Label    string `json:"label"`
			Decimals *int   `json:"decimals"`
		}
		if err := json.Unmarshal(raw, &u); err != nil {
			return d, "", fmt.Errorf("jsonstat: dimension %q: unit: %w", id, err)
		}
		if u.Decimals != nil && *u.Decimals < 0 {
			return d, "", fmt.Errorf("jsonstat: dimension %q: negative decimals", id)
		}
		unit = u.Label
	}
	if unit == "" && size == 1 {
		unit = d.Categories[0].Label
	}
	return d, unit, nil
}

// checkValues reads "value": an array of n numbers or nulls, or an object
// with keys 0..n-1 (missing cells are null).
func checkValues(raw json.RawMessage, n int) ([]*float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New(`jsonstat: no "value"`)
	}
	out := make([]*float64, n)
	if raw[0] == '[' {
		var arr []*float64
		if err := json.Unmarshal(raw, &arr); err != nil {
			return nil, fmt.Errorf("jsonstat: value: %w", err)
		}
		if len(arr) != n {
			return nil, fmt.Errorf("jsonstat: %d values for %d cells", len(arr), n)
		}
		return arr, nil
	}
	var obj map[string]*float64
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("jsonstat: value: %w", err)
	}
	for k, v := range obj {
		i, err := cellIndex(k, n)
		if err != nil {
			return nil, fmt.Errorf("jsonstat: value: %w", err)
		}
		out[i] = v
	}
	for _, v := range out {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return nil, errors.New("jsonstat: value not finite")
		}
	}
	return out, nil
}

// checkStatus reads "status": absent, a string for every cell, an array of
// one or n strings (or nulls), or an object with keys 0..n-1.
func checkStatus(raw json.RawMessage, n int) ([]string, error) {
	out := make([]string, n)
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("jsonstat: status: %w", err)
		}
		for i := range out {
			out[i] = s
		}
	case '[':
		var arr []*string
		if err := json.Unmarshal(raw, &arr); err != nil {
			return nil, fmt.Errorf("jsonstat: status: %w", err)
		}
		if len(arr) != 1 && len(arr) != n {
			return nil, fmt.Errorf("jsonstat: %d statuses for %d cells", len(arr), n)
		}
		for i := range out {
			if s := arr[min(i, len(arr)-1)]; s != nil {
				out[i] = *s
			}
		}
	default:
		var obj map[string]string
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("jsonstat: status: %w", err)
		}
		for k, s := range obj {
			i, err := cellIndex(k, n)
			if err != nil {
				return nil, fmt.Errorf("jsonstat: status: %w", err)
			}
			out[i] = s
		}
	}
	return out, nil
}

func cellIndex(k string, n int) (int, error) {
	i, err := strconv.Atoi(k)
	if err != nil || i < 0 || i >= n || strconv.Itoa(i) != k {
		return 0, fmt.Errorf("key %q is not a cell index below %d", k, n)
	}
	return i, nil
}
