package merge

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"unsafe"

	"github.com/gallra/gallra/pipeline/lake"
	"github.com/gallra/gallra/pipeline/slab"
)

// A batch keeps its entries, in memory and in spilled runs, as compact
// records without pointers, so that a large batch costs the garbage collector
// nothing to scan and a spill is a plain copy of bytes. Strings that repeat
// (source, key ID, kind, measure, attributes, run ID) are interned: a record
// holds their numbers in the batch's string table, which lives only as long as
// the batch and never leaves the process.
//
// Record layout (varints as encoding/binary writes them):
//
//	uvarint seq          the entry's number in the batch (add order)
//	byte    flags        see flag*
//	[16]    record key
//	[16]    pseudonym    if flagPseudonym
//	varint  period start
//	varint  period end   if flagEnd
//	uvarint source, key ID, ID kind, measure, run ID (string numbers)
//	uvarint sex, age band, municipality (string number + 1; 0 = null)
//	...     any further lake.Row fields, by kind (see extraFields)
const (
	flagPseudonym = 1 << iota
	flagEnd
	flagByRecordID
	flagPastRetention
)

// strtab interns strings: the same string always gets the same number, and
// decoding hands out one shared *string per number.
type strtab struct {
	ids  map[string]uint64
	strs []string
	ptrs []*string
	// the slabs decoded values are taken from
	pseuds slab.Slab[[16]byte]
	int32s slab.Slab[int32]
	// strings of each field encode interns, by their memory, in a table a
	// string's address picks its place in (see idAt)
	seen [numSlots][seenSize]seenStr
}

// seenStr is a string idAt has numbered, known by its memory. s keeps that
// memory alive, so no other string can come to have it: a string of the
// same memory and length is s itself (Go's strings do not change).
type seenStr struct {
	p  *byte
	s  string
	id uint64
}

// seenSize is the size of a field's table of strings by memory: enough
// for the values of the fields with few (sex, age band, ID kind, a
// source's measures), mostly without two of them at one place.
const (
	seenBits = 4
	seenSize = 1 << seenBits
)

// Fields with a slot in strtab.seen.
const (
	slotSource = iota
	slotKeyID
	slotKind
	slotMeasure
	slotRunID
	slotSex
	slotAgeBand
	slotMunicipality
	numSlots
)

// idAt is id(s), remembering s in the field's slot. The strings rows share
// are shared in memory too: a measure from the schema's code list, an age
// band or a sex from minimise's tables, a source's configured municipality,
// any string decoded from a spilled run (this table's). Those are found by
// their memory first, without comparing or hashing their bytes: an entry's
// record costs 36-38 ns instead of 72-82 (BenchmarkEncode/config), 48-58
// instead of 90-99 with a municipality from each row's text (/row).
func (t *strtab) idAt(slot int, s string) uint64 {
	var e *seenStr
	if s != "" {
		p := unsafe.StringData(s)
		e = &t.seen[slot][uint64(uintptr(unsafe.Pointer(p)))*0x9E3779B97F4A7C15>>(64-seenBits)] // Fibonacci hashing
		if e.p == p && len(e.s) == len(s) {
			return e.id
		}
	}
	id := t.id(s)
	if e != nil {
		*e = seenStr{p: unsafe.StringData(s), s: s, id: id}
	}
	return id
}

// optIDAt is optID(s), remembering s in the field's slot.
func (t *strtab) optIDAt(slot int, s *string) uint64 {
	if s == nil {
		return 0
	}
	return t.idAt(slot, *s) + 1
}

func newStrtab() *strtab { return &strtab{ids: map[string]uint64{}} }

func (t *strtab) id(s string) uint64 {
	if id, ok := t.ids[s]; ok {
		return id
	}
	id := uint64(len(t.strs))
	t.ids[s] = id
	t.strs = append(t.strs, s)
	p := new(string)
	*p = s
	t.ptrs = append(t.ptrs, p)
	return id
}

// ranks returns, for each string number, the string's place in the
// table's strings sorted: comparing ranks compares the strings.
func (t *strtab) ranks() []int {
	order := make([]int, len(t.strs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return cmp.Compare(t.strs[x], t.strs[y]) })
	rank := make([]int, len(order))
	for r, i := range order {
		rank[i] = r
	}
	return rank
}

func (t *strtab) optID(s *string) uint64 {
	if s == nil {
		return 0
	}
	return t.id(*s) + 1
}

var errCorrupt = errors.New("merge: corrupt spilled record")

func (t *strtab) str(id uint64) (string, error) {
	if id >= uint64(len(t.strs)) {
		return "", errCorrupt
	}
	return t.strs[id], nil
}

func (t *strtab) optStr(id uint64) (*string, error) {
	if id == 0 {
		return nil, nil
	}
	if id-1 >= uint64(len(t.ptrs)) {
		return nil, errCorrupt
	}
	return t.ptrs[id-1], nil
}

// knownFields are the lake.Row fields the codec writes by name; any other
// field (a column added to the lake later) is carried by extraFields.
var knownFields = map[string]bool{
	"Pseudonym": true, "KeyID": true, "IDKind": true, "Measure": true, "PeriodStart": true,
	"PeriodEnd": true, "Sex": true, "AgeBand": true, "Municipality": true, "RecordKey": true, "RunID": true,
}

// extraFields are the indexes of lake.Row fields outside knownFields, so that
// a column added to the lake survives a spill without a change here. Their
// kinds must be among those appendExtra handles (TestCodecCoversRow fails
// otherwise).
var extraFields = func() []int {
	var out []int
	t := reflect.TypeFor[lake.Row]()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && !knownFields[f.Name] {
			out = append(out, i)
		}
	}
	return out
}()

// encode appends e's record to buf.
func (t *strtab) encode(buf []byte, seq uint64, e *Entry) []byte {
	r := &e.Row
	var flags byte
	if r.Pseudonym != nil {
		flags |= flagPseudonym
	}
	if r.PeriodEnd != nil {
		flags |= flagEnd
	}
	if e.ByRecordID {
		flags |= flagByRecordID
	}
	if e.PastRetention {
		flags |= flagPastRetention
	}
	buf = binary.AppendUvarint(buf, seq)
	buf = append(buf, flags)
	buf = append(buf, r.RecordKey[:]...)
	if r.Pseudonym != nil {
		buf = append(buf, r.Pseudonym[:]...)
	}
	buf = binary.AppendVarint(buf, int64(r.PeriodStart))
	if r.PeriodEnd != nil {
		buf = binary.AppendVarint(buf, int64(*r.PeriodEnd))
	}
	buf = binary.AppendUvarint(buf, t.idAt(slotSource, e.Source))
	buf = binary.AppendUvarint(buf, t.idAt(slotKeyID, r.KeyID))
	buf = binary.AppendUvarint(buf, t.idAt(slotKind, r.IDKind))
	buf = binary.AppendUvarint(buf, t.idAt(slotMeasure, r.Measure))
	buf = binary.AppendUvarint(buf, t.idAt(slotRunID, r.RunID))
	buf = binary.AppendUvarint(buf, t.optIDAt(slotSex, r.Sex))
	buf = binary.AppendUvarint(buf, t.optIDAt(slotAgeBand, r.AgeBand))
	buf = binary.AppendUvarint(buf, t.optIDAt(slotMunicipality, r.Municipality))
	if len(extraFields) > 0 {
		v := reflect.ValueOf(r).Elem()
		for _, i := range extraFields {
			buf = t.appendExtra(buf, v.Field(i))
		}
	}
	return buf
}

// recHead is the part of a record that sorting and merging look at.
type recHead struct {
	seq uint64
	key [16]byte
}

// head decodes a record's sequence number and record key.
func head(rec []byte) (recHead, error) {
	seq, n := binary.Uvarint(rec)
	if n <= 0 || len(rec) < n+1+16 {
		return recHead{}, errCorrupt
	}
	return recHead{seq: seq, key: [16]byte(rec[n+1 : n+1+16])}, nil
}

// recSource returns the source's string number in a record.
func recSource(rec []byte) (uint64, error) {
	d := decoder{b: rec}
	d.uvarint()
	flags := d.byte()
	d.skip(16)
	if flags&flagPseudonym != 0 {
		d.skip(16)
	}
	d.varint()
	if flags&flagEnd != 0 {
		d.varint()
	}
	src := d.uvarint()
	return src, d.err
}

// decode turns a record back into an entry.
func (t *strtab) decode(rec []byte) (Entry, uint64, error) {
	var e Entry
	seq, err := t.decodeInto(rec, &e)
	return e, seq, err
}

// decodeInto turns a record back into an entry, overwriting *e. The
// pseudonym and the period end it points to come from slabs shared by many
// rows (values never change once decoded), so that a decoded row costs no
// allocation of its own.
func (t *strtab) decodeInto(rec []byte, e *Entry) (uint64, error) {
	*e = Entry{}
	r := &e.Row
	d := decoder{b: rec}
	seq := d.uvarint()
	flags := d.byte()
	copy(r.RecordKey[:], d.bytes(16))
	if flags&flagPseudonym != 0 {
		r.Pseudonym = t.pseuds.New([16]byte(d.bytes(16)))
	}
	r.PeriodStart = int32(d.varint())
	if flags&flagEnd != 0 {
		r.PeriodEnd = t.int32s.New(int32(d.varint()))
	}
	e.ByRecordID = flags&flagByRecordID != 0
	e.PastRetention = flags&flagPastRetention != 0
	var err error
	if e.Source, err = t.str(d.uvarint()); err != nil {
		return seq, err
	}
	if r.KeyID, err = t.str(d.uvarint()); err != nil {
		return seq, err
	}
	if r.IDKind, err = t.str(d.uvarint()); err != nil {
		return seq, err
	}
	if r.Measure, err = t.str(d.uvarint()); err != nil {
		return seq, err
	}
	if r.RunID, err = t.str(d.uvarint()); err != nil {
		return seq, err
	}
	if r.Sex, err = t.optStr(d.uvarint()); err != nil {
		return seq, err
	}
	if r.AgeBand, err = t.optStr(d.uvarint()); err != nil {
		return seq, err
	}
	if r.Municipality, err = t.optStr(d.uvarint()); err != nil {
		return seq, err
	}
	if len(extraFields) > 0 {
		v := reflect.ValueOf(r).Elem()
		for _, i := range extraFields {
			if err = t.readExtra(&d, v.Field(i)); err != nil {
				return seq, err
			}
		}
	}
	if d.err != nil {
		return seq, d.err
	}
	if len(d.b) != 0 {
		return seq, errCorrupt
	}
	return seq, nil
}

// appendExtra encodes a field the codec does not know by name, by kind:
// strings, signed integers, booleans and [16]byte, or a pointer to one of
// those (a leading presence byte).
func (t *strtab) appendExtra(buf []byte, v reflect.Value) []byte {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return append(buf, 0)
		}
		buf = append(buf, 1)
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return binary.AppendUvarint(buf, t.id(v.String()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(buf, v.Int())
	case reflect.Bool:
		if v.Bool() {
			return append(buf, 1)
		}
		return append(buf, 0)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			for i := range v.Len() {
				buf = append(buf, byte(v.Index(i).Uint()))
			}
			return buf
		}
	}
	panic(fmt.Sprintf("merge: lake.Row field of type %s cannot be spilled; teach merge/codec.go", v.Type()))
}

func (t *strtab) readExtra(d *decoder, v reflect.Value) error {
	if v.Kind() == reflect.Pointer {
		if d.byte() == 0 {
			return d.err
		}
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		s, err := t.str(d.uvarint())
		if err != nil {
			return err
		}
		v.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(d.varint())
	case reflect.Bool:
		v.SetBool(d.byte() != 0)
	case reflect.Array:
		b := d.bytes(v.Len())
		for i := range b {
			v.Index(i).SetUint(uint64(b[i]))
		}
	default:
		return fmt.Errorf("merge: lake.Row field of type %s cannot be spilled", v.Type())
	}
	return d.err
}

// decoder reads a record; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

var zeros [16]byte

func (d *decoder) bytes(n int) []byte {
	if len(d.b) < n {
		d.fail()
		if n <= len(zeros) {
			return zeros[:n]
		}
		return make([]byte, n)
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) skip(n int) { d.bytes(n) }
