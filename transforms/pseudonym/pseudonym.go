// Package pseudonym computes gallra's keyed pseudonyms.
//
// A pseudonym is HMAC-SHA-256 over a canonical identifier and its kind,
// truncated to 128 bits, under a subkey derived with HKDF-SHA-256 from a
// 32-byte master secret for one named domain. Pseudonyms of different
// domains (the lake, an external delivery) are unlinkable without the
// master secret, and a pseudonym cannot be reversed by enumerating the
// small identifier space without it: an unkeyed or salted hash would be.
//
// The package is pure: it does no I/O. Loading and storing the master
// secret is the job of package keyfile. A [Key] never prints its secret:
// fmt, log/slog and encoding/json all see only its public key ID.
//
// Derivations (salt is empty, i.e. HashLen zero bytes, per RFC 5869):
//
//	key ID        = "gk1-" + hex(HKDF(secret, info="gallra key-id v1")[:8])
//	pseudonym key = HKDF(secret, info="gallra pseudonym v1 domain="+domain)[:32]
//	record key    = HKDF(secret, info="gallra record-key v1 domain="+domain)[:32]
//	Pseudonym     = HMAC-SHA-256(pseudonym key, kind || 0x00 || canonical)[:16]
//	RecordKey     = HMAC-SHA-256(record key, part1 || 0x00 || part2 ...)[:16]
//
// Fields that contain the bytes 0x00 or 0x01 are escaped (0x01 -> 0x01 0x02,
// 0x00 -> 0x01 0x03) before joining, so that the encoding is injective; the
// canonical identifiers gallra hashes never contain either byte, so for them
// the input is exactly the plain join above.
//
// # Rotation: a chain of generations
//
// A Key may hold a chain of secrets, secret_1 (the oldest) to secret_n (the
// current generation); [NewKey] makes a chain of one, [Key.Extend] adds a
// generation. Generation 1 derives exactly as above, so a key that was never
// rotated is unchanged. Each later generation carries the value of the one
// before it forward:
//
//	rotate key_i(D)  = HKDF(secret_i, info="gallra rotate v1 domain="+D+" pseudonym")[:32]
//	rotate rkey_i(D) = HKDF(secret_i, info="gallra rotate v1 domain="+D+" record-key")[:32]
//	Pseudonym_i      = HMAC-SHA-256(rotate key_i(D), Pseudonym_(i-1))[:16]   for i = 2..n
//	RecordKey_i      = HMAC-SHA-256(rotate rkey_i(D), RecordKey_(i-1))[:16]  for i = 2..n
//
// A Pseudonymizer of a chain returns Pseudonym_n and RecordKey_n directly,
// so ingest with a rotated key writes the current generation; and
// [Pseudonymizer.Advance] carries a stored value of generation i forward to
// generation n without the identifier, which is how a rotation rewrites the
// lake while keeping every person's history linked. The current pseudonyms
// need every secret of the chain: a leaked older secret (or any single
// secret) alone cannot compute them, so after rotation a leaked secret plus
// the current lake no longer re-identifies anyone. The key ID of a chain is
// the key ID of its current generation.
//
// The chain applies to every domain alike. Values keyed on a lake pseudonym
// — the cell-key terms of published tables (domain "cellkey", computed over
// the pseudonym's text) and delivery pseudonyms — therefore change with a
// rotation: they cannot stay the same, because a per-person value that
// survived the rotation unchanged would itself be a pseudonym the rotation
// did not rotate, and the one-way chain cannot be walked back to generation
// 1 to key them there.
//
// # Deliveries
//
// A delivery to an external recipient maps lake pseudonyms to pseudonyms of
// the recipient's own domain ([NewRecipient]):
//
//	deliver key(NAME) = HKDF(secret_n, info="gallra deliver v1 domain="+NAME)[:32]
//	recipient pseudonym = HMAC-SHA-256(deliver key(NAME), lake Pseudonym)[:16]
//
// Two recipients' pseudonyms cannot be linked to each other or to the lake's
// without the secret, and a recipient gets the same pseudonym for the same
// person in every delivery made with the same key generation.
package pseudonym

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"

	"golang.org/x/crypto/hkdf"
)

// SecretSize is the size in bytes of a master secret.
const SecretSize = 32

// KeyIDPrefix starts every key ID; it names the version of the derivations.
const KeyIDPrefix = "gk1-"

// HKDF info strings. Changing any of them changes every pseudonym.
const (
	infoKeyID     = "gallra key-id v1"
	infoPseudonym = "gallra pseudonym v1 domain="
	infoRecordKey = "gallra record-key v1 domain="
	infoRotate    = "gallra rotate v1 domain="  // + domain + " pseudonym" or " record-key"
	infoDeliver   = "gallra deliver v1 domain=" // + recipient domain
)

// maxDomainLen bounds a domain name.
const maxDomainLen = 64

// Key is a chain of one or more 32-byte master secrets, one per key
// generation, oldest first; the last is the current generation. The zero Key
// holds no secret; make one with [NewKey] and add generations with
// [Key.Extend]. A Key is immutable and safe to copy and share between
// goroutines.
//
// A Key formats (fmt, all verbs), logs (log/slog) and marshals
// (encoding/json) as its public key ID only, never as its secret. Keys are
// not comparable with ==; use [Key.Equal].
type Key struct {
	id  string   // the current generation's key ID
	ids []string // every generation's key ID, oldest first; public
	// secret returns the generations' secrets, oldest first. Key material
	// lives behind a func value because reflection-based printers (fmt
	// reaching an unexported field, where methods cannot be called; debug
	// dumpers) print a func as an address, never as its contents.
	secret func() []*[SecretSize]byte
}

// hide returns a func that yields v; see [Key].
func hide[T any](v T) func() T { return func() T { return v } }

// ErrKey is returned (wrapped) by [NewKey] for an unusable secret.
var ErrKey = errors.New("pseudonym: invalid key")

// ErrGeneration is returned (wrapped) when a key ID names no generation of a
// Key's chain. Its messages name key IDs only.
var ErrGeneration = errors.New("pseudonym: key ID is not a generation of this key")

// NewKey returns a Key of one generation holding a copy of secret, which
// must be exactly [SecretSize] bytes and not all zeros (an all-zero secret
// betrays an uninitialised buffer or a broken random source).
func NewKey(secret []byte) (Key, error) {
	if len(secret) != SecretSize {
		return Key{}, fmt.Errorf("%w: secret has %d bytes, want %d", ErrKey, len(secret), SecretSize)
	}
	var zero [SecretSize]byte
	if subtle.ConstantTimeCompare(secret, zero[:]) == 1 {
		return Key{}, fmt.Errorf("%w: secret is all zeros", ErrKey)
	}
	s := new([SecretSize]byte)
	copy(s[:], secret)
	id := keyID(s)
	return Key{id: id, ids: []string{id}, secret: hide([]*[SecretSize]byte{s})}, nil
}

func keyID(s *[SecretSize]byte) string {
	var idb [8]byte
	derive(s[:], infoKeyID, idb[:])
	return KeyIDPrefix + hex.EncodeToString(idb[:])
}

// Extend returns the chain of k followed by the generations of next (usually
// one new secret from [NewKey]): the key after a rotation. k is not changed.
// A generation may appear only once in a chain.
func (k Key) Extend(next Key) (Key, error) {
	if k.IsZero() || next.IsZero() {
		return Key{}, fmt.Errorf("%w: cannot extend with or to a zero Key", ErrKey)
	}
	secrets := append(slices.Clone(k.secret()), next.secret()...)
	ids := append(slices.Clone(k.ids), next.ids...)
	for i, id := range ids {
		if slices.Index(ids, id) != i {
			return Key{}, fmt.Errorf("%w: generation %s appears twice in the chain", ErrKey, id)
		}
	}
	return Key{id: ids[len(ids)-1], ids: ids, secret: hide(secrets)}, nil
}

// Generations returns every generation of k as a Key of its own, oldest
// first: what a key file stores, one key line each. It is nil for the zero
// Key.
func (k Key) Generations() []Key {
	if k.IsZero() {
		return nil
	}
	out := make([]Key, len(k.ids))
	for i, s := range k.secret() {
		out[i] = Key{id: k.ids[i], ids: k.ids[i : i+1], secret: hide([]*[SecretSize]byte{s})}
	}
	return out
}

// Generation returns the number of the current generation: 1 for a key that
// was never rotated, 0 for the zero Key.
func (k Key) Generation() int { return len(k.ids) }

// KeyIDs returns the key IDs of every generation, oldest first.
func (k Key) KeyIDs() []string { return slices.Clone(k.ids) }

// GenerationOf returns the number (1 for the oldest) of the generation whose
// key ID is id, or 0 if k holds no such generation.
func (k Key) GenerationOf(id string) int { return slices.Index(k.ids, id) + 1 }

// derive fills out with HKDF-SHA-256(secret, salt=empty, info).
func derive(secret []byte, info string, out []byte) {
	r := hkdf.New(sha256.New, secret, nil, []byte(info))
	if _, err := io.ReadFull(r, out); err != nil {
		// HKDF-SHA-256 yields up to 8160 bytes; we ask for at most 32.
		panic("pseudonym: hkdf: " + err.Error())
	}
}

// IsZero reports whether k holds no secret.
func (k Key) IsZero() bool { return k.secret == nil }

// ID returns the public key ID of the current generation, "gk1-" followed
// by 16 lowercase hex digits: the first 8 bytes of HKDF-SHA-256(secret,
// info="gallra key-id v1"). It is "" for the zero Key.
//
// The ID is one-way output of a key derivation function over a uniformly
// random 256-bit secret, domain-separated from every pseudonym subkey: it
// identifies the key in lake rows and reports, and it gives no help in
// guessing the secret (there is nothing smaller than 2^256 to enumerate).
func (k Key) ID() string { return k.id }

// Equal reports whether k and o hold the same chain of secrets, in
// constant time for chains of equal length.
func (k Key) Equal(o Key) bool {
	if k.IsZero() || o.IsZero() {
		return k.IsZero() && o.IsZero()
	}
	a, b := k.secret(), o.secret()
	if len(a) != len(b) {
		return false
	}
	eq := 1
	for i := range a {
		eq &= subtle.ConstantTimeCompare(a[i][:], b[i][:])
	}
	return eq == 1
}

// Secret returns a copy of the current generation's master secret, or nil
// for the zero Key; [Key.Generations] gives every generation. It exists for
// key storage (package keyfile) and leak scanning only: never log, print or
// store its result anywhere but a key file.
func (k Key) Secret() []byte {
	if k.IsZero() {
		return nil
	}
	ss := k.secret()
	s := make([]byte, SecretSize)
	copy(s, ss[len(ss)-1][:])
	return s
}

// String returns the key ID, or "(no key)" for the zero Key.
func (k Key) String() string {
	if k.IsZero() {
		return "(no key)"
	}
	return k.id
}

// GoString implements fmt.GoStringer: the key ID only (and the generation,
// for a rotated key).
func (k Key) GoString() string {
	if len(k.ids) > 1 {
		return fmt.Sprintf("pseudonym.Key(%q, generation %d)", k.ID(), len(k.ids))
	}
	return fmt.Sprintf("pseudonym.Key(%q)", k.ID())
}

// Format implements fmt.Formatter so that no verb (%v, %+v, %#v, %s, %x,
// %q, ...) can reach the secret: every verb prints [Key.String], and %#v
// prints [Key.GoString].
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, k.GoString())
		return
	}
	io.WriteString(f, k.String())
}

// LogValue implements slog.LogValuer: the key ID only.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.ID()) }

// MarshalJSON encodes the key ID only, as a JSON string.
func (k Key) MarshalJSON() ([]byte, error) { return json.Marshal(k.ID()) }

// Pseudonym is a 128-bit pseudonym: HMAC-SHA-256 truncated to 16 bytes.
// Stored in Parquet as a UUID (FIXED_LEN_BYTE_ARRAY(16), logical type UUID),
// it reads in DuckDB as a UUID column. The bytes are HMAC output, not an
// RFC 9562 UUID: no version or variant bits are set.
type Pseudonym [16]byte

// String returns the canonical UUID text form, 8-4-4-4-12 lowercase hex
// digits: what DuckDB prints for a UUID column.
func (p Pseudonym) String() string {
	var b [36]byte
	p.encode(&b)
	return string(b[:])
}

func (p Pseudonym) encode(b *[36]byte) {
	hex.Encode(b[0:8], p[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], p[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], p[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], p[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], p[10:16])
}

// ErrSyntax is returned (wrapped) by [ParsePseudonym] for malformed text.
var ErrSyntax = errors.New("pseudonym: invalid pseudonym text")

// ParsePseudonym parses the 36-character UUID text form written by
// [Pseudonym.String]; hex digits may be upper or lower case. Its errors
// give the reason but never echo the input.
func ParsePseudonym(s string) (Pseudonym, error) {
	var p Pseudonym
	if len(s) != 36 {
		return p, fmt.Errorf("%w: length %d, want 36", ErrSyntax, len(s))
	}
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return p, fmt.Errorf("%w: hyphens not at positions 9, 14, 19, 24", ErrSyntax)
	}
	var h [32]byte
	copy(h[0:8], s[0:8])
	copy(h[8:12], s[9:13])
	copy(h[12:16], s[14:18])
	copy(h[16:20], s[19:23])
	copy(h[20:32], s[24:36])
	if _, err := hex.Decode(p[:], h[:]); err != nil {
		return Pseudonym{}, fmt.Errorf("%w: not hexadecimal", ErrSyntax)
	}
	return p, nil
}

// Pseudonymizer computes pseudonyms and record keys for one key and one
// domain: those of the key's current generation (see the package comment on
// rotation). It reuses its HMAC state and buffers between calls, so it does
// not allocate per call and is NOT safe for concurrent use: give every
// goroutine its own [Pseudonymizer.Clone].
//
// Like [Key], a Pseudonymizer formats, logs and marshals as its domain and
// key ID only.
type Pseudonymizer struct {
	keyID  string
	ids    []string // the key's generations, oldest first
	domain string
	st     func() *pzState // behind a func value for the reason given at [Key]
}

// pzState is the key material and the reusable scratch of a Pseudonymizer.
type pzState struct {
	first macPair   // generation 1: identifier -> value
	steps []macPair // generations 2..n: value of the one before -> value
	buf   []byte    // the last input hashed: an identifier, hence hidden too
	sum   [sha256.Size]byte
	in    Pseudonym // a step's input (kept here so that hashing it does not allocate)
}

// macPair is the pseudonym and record-key HMAC of one generation.
type macPair struct {
	pkey, rkey [32]byte
	ph, rh     hash.Hash
}

func (m *macPair) init() {
	m.ph = hmac.New(sha256.New, m.pkey[:])
	m.rh = hmac.New(sha256.New, m.rkey[:])
}

func newPzState(first macPair, steps []macPair) *pzState {
	s := &pzState{first: first, steps: steps, buf: make([]byte, 0, 128)}
	s.first.init()
	for i := range s.steps {
		s.steps[i].init()
	}
	return s
}

// NewPseudonymizer derives the subkeys of domain from k. The domain names
// the purpose ("lake", "cellkey", ...): pseudonyms of different domains are
// unlinkable. It must be 1 to 64 characters from [a-z0-9._-].
func NewPseudonymizer(k Key, domain string) (*Pseudonymizer, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("%w: no key (zero Key)", ErrKey)
	}
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	secrets := k.secret()
	var first macPair
	derive(secrets[0][:], infoPseudonym+domain, first.pkey[:])
	derive(secrets[0][:], infoRecordKey+domain, first.rkey[:])
	steps := make([]macPair, len(secrets)-1)
	for i, s := range secrets[1:] {
		derive(s[:], infoRotate+domain+" pseudonym", steps[i].pkey[:])
		derive(s[:], infoRotate+domain+" record-key", steps[i].rkey[:])
	}
	return &Pseudonymizer{keyID: k.id, ids: k.ids, domain: domain, st: hide(newPzState(first, steps))}, nil
}

// ErrDomain is returned (wrapped) by [NewPseudonymizer] for a bad domain.
var ErrDomain = errors.New("pseudonym: invalid domain")

func checkDomain(d string) error {
	if d == "" {
		return fmt.Errorf("%w: empty", ErrDomain)
	}
	if len(d) > maxDomainLen {
		return fmt.Errorf("%w: %d characters, at most %d", ErrDomain, len(d), maxDomainLen)
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q: only a-z, 0-9, '.', '_' and '-' are allowed", ErrDomain, d)
		}
	}
	return nil
}

// Pseudonym returns the current generation's pseudonym of an identifier:
// for generation 1, HMAC-SHA-256(pseudonym subkey, kind || 0x00 ||
// canonical) truncated to 16 bytes, carried through the later generations
// as the package comment says. kind names the identifier type ("pnr",
// "samnr", ...) so that equal digits of different kinds get different
// pseudonyms; canonical is the normalised identifier.
func (p *Pseudonymizer) Pseudonym(kind, canonical string) Pseudonym {
	s := p.st()
	b := appendField(s.buf[:0], kind)
	b = append(b, 0)
	b = appendField(b, canonical)
	out := s.mac(s.first.ph, b)
	for i := range s.steps {
		out = s.step(s.steps[i].ph, out)
	}
	return out
}

// RecordKey returns the current generation's record key: for generation 1,
// HMAC-SHA-256(record-key subkey, parts joined with 0x00) truncated to 16
// bytes, carried through the later generations. It is a stable, keyed key
// for a lake row, unlinkable to the pseudonyms of the same domain. No parts
// at all hash the single byte 0x01, which no list of escaped parts
// produces, so that RecordKey() and RecordKey("") differ.
func (p *Pseudonymizer) RecordKey(parts ...string) Pseudonym {
	s := p.st()
	b := s.buf[:0]
	if len(parts) == 0 {
		b = append(b, 1)
	}
	for i, part := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = appendField(b, part)
	}
	out := s.mac(s.first.rh, b)
	for i := range s.steps {
		out = s.step(s.steps[i].rh, out)
	}
	return out
}

// Advance carries a pseudonym that generation fromKeyID of the key made
// forward to the current generation, without the identifier: what a key
// rotation does to the lake's stored pseudonyms. A value of the current
// generation is returned unchanged. It fails (ErrGeneration) if the key
// holds no generation fromKeyID.
func (p *Pseudonymizer) Advance(fromKeyID string, v Pseudonym) (Pseudonym, error) {
	return p.advance(fromKeyID, v, func(m *macPair) hash.Hash { return m.ph })
}

// AdvanceRecordKey is [Pseudonymizer.Advance] for a record key.
func (p *Pseudonymizer) AdvanceRecordKey(fromKeyID string, v Pseudonym) (Pseudonym, error) {
	return p.advance(fromKeyID, v, func(m *macPair) hash.Hash { return m.rh })
}

func (p *Pseudonymizer) advance(from string, v Pseudonym, h func(*macPair) hash.Hash) (Pseudonym, error) {
	g := slices.Index(p.ids, from)
	if g < 0 {
		return Pseudonym{}, fmt.Errorf("%w: %q is not one of the %d generation(s) of key %s", ErrGeneration, from, len(p.ids), p.keyID)
	}
	s := p.st()
	// steps[j] makes generation j+2 from generation j+1 (numbering from 1);
	// a value of generation g+1 needs steps[g:].
	for j := g; j < len(s.steps); j++ {
		v = s.step(h(&s.steps[j]), v)
	}
	return v, nil
}

func (s *pzState) mac(h hash.Hash, b []byte) Pseudonym {
	h.Reset()
	h.Write(b)
	sum := h.Sum(s.sum[:0])
	var out Pseudonym
	copy(out[:], sum)
	clear(b)      // do not keep the identifier around
	s.buf = b[:0] // keep a grown buffer for the next call
	return out
}

// step is one generation's HMAC over the value of the one before.
func (s *pzState) step(h hash.Hash, v Pseudonym) Pseudonym {
	h.Reset()
	s.in = v
	h.Write(s.in[:])
	var out Pseudonym
	copy(out[:], h.Sum(s.sum[:0]))
	return out
}

// appendField appends s, escaping 0x01 as 0x01 0x02 and 0x00 as 0x01 0x03
// so that joining fields with 0x00 stays injective.
func appendField(b []byte, s string) []byte {
	// One pass over s (fields are short), not a strings.IndexByte for
	// each byte to escape: that was two thirds of appendField's cost.
	i := 0
	for i < len(s) && s[i] > 1 {
		i++
	}
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b = append(b, 1, 3)
		case 1:
			b = append(b, 1, 2)
		default:
			b = append(b, c)
		}
	}
	return b
}

// Clone returns an independent Pseudonymizer with the same key and domain,
// for use in another goroutine. It does not derive the subkeys again.
func (p *Pseudonymizer) Clone() *Pseudonymizer {
	s := p.st()
	steps := make([]macPair, len(s.steps))
	for i := range s.steps {
		steps[i] = macPair{pkey: s.steps[i].pkey, rkey: s.steps[i].rkey}
	}
	first := macPair{pkey: s.first.pkey, rkey: s.first.rkey}
	return &Pseudonymizer{keyID: p.keyID, ids: p.ids, domain: p.domain, st: hide(newPzState(first, steps))}
}

// KeyID returns the ID of the key's current generation: the key ID of the
// values it computes.
func (p *Pseudonymizer) KeyID() string { return p.keyID }

// Domain returns the domain the subkeys were derived for.
func (p *Pseudonymizer) Domain() string { return p.domain }

// The formatting methods below have value receivers on purpose, so that
// printing a dereferenced Pseudonymizer cannot reach its subkeys or HMAC
// state either.

// String returns the domain and key ID, never key material.
func (p Pseudonymizer) String() string {
	return "pseudonymizer(domain=" + p.domain + " key=" + p.keyID + ")"
}

// Format implements fmt.Formatter: every verb prints [Pseudonymizer.String].
func (p Pseudonymizer) Format(f fmt.State, verb rune) { io.WriteString(f, p.String()) }

// LogValue implements slog.LogValuer: the domain and key ID only.
func (p Pseudonymizer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("domain", p.domain), slog.String("key_id", p.keyID))
}

// MarshalJSON encodes the domain and key ID only.
func (p Pseudonymizer) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Domain string `json:"domain"`
		KeyID  string `json:"key_id"`
	}{p.domain, p.keyID})
}

// Recipient maps lake pseudonyms to the pseudonyms of one external
// recipient's domain (a delivery of microdata): HMAC-SHA-256 under
// HKDF(secret_n, "gallra deliver v1 domain="+domain), truncated to 16 bytes,
// where secret_n is the key's current generation. The recipient's
// pseudonyms cannot be linked to the lake's, or to another recipient's,
// without the key; the same recipient gets the same pseudonym for the same
// person in every delivery under the same key generation.
//
// Like a Pseudonymizer, a Recipient is not safe for concurrent use (see
// [Recipient.Clone]) and formats, logs and marshals as its domain and key ID
// only.
type Recipient struct {
	keyID  string
	domain string
	st     func() *recState // behind a func value for the reason given at [Key]
}

type recState struct {
	key [32]byte
	h   hash.Hash
	sum [sha256.Size]byte
	in  Pseudonym // the input (kept here so that hashing it does not allocate)
}

func newRecState(key *[32]byte) *recState {
	s := &recState{key: *key}
	s.h = hmac.New(sha256.New, s.key[:])
	return s
}

// NewRecipient derives the delivery subkey of domain from k's current
// generation. The domain is the recipient's name, with the syntax of a
// pseudonym domain (1 to 64 characters from [a-z0-9._-]).
func NewRecipient(k Key, domain string) (*Recipient, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("%w: no key (zero Key)", ErrKey)
	}
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	ss := k.secret()
	var key [32]byte
	derive(ss[len(ss)-1][:], infoDeliver+domain, key[:])
	r := &Recipient{keyID: k.id, domain: domain, st: hide(newRecState(&key))}
	clear(key[:])
	return r, nil
}

// Pseudonym returns the recipient's pseudonym for a lake pseudonym.
func (r *Recipient) Pseudonym(lake Pseudonym) Pseudonym {
	s := r.st()
	s.h.Reset()
	s.in = lake
	s.h.Write(s.in[:])
	var out Pseudonym
	copy(out[:], s.h.Sum(s.sum[:0]))
	return out
}

// Clone returns an independent Recipient with the same subkey, for use in
// another goroutine.
func (r *Recipient) Clone() *Recipient {
	return &Recipient{keyID: r.keyID, domain: r.domain, st: hide(newRecState(&r.st().key))}
}

// Domain returns the recipient's domain.
func (r *Recipient) Domain() string { return r.domain }

// KeyID returns the ID of the key generation the subkey was derived from.
func (r *Recipient) KeyID() string { return r.keyID }

// String returns the domain and key ID, never key material.
func (r Recipient) String() string {
	return "recipient(domain=" + r.domain + " key=" + r.keyID + ")"
}

// Format implements fmt.Formatter: every verb prints [Recipient.String].
func (r Recipient) Format(f fmt.State, verb rune) { io.WriteString(f, r.String()) }

// LogValue implements slog.LogValuer: the domain and key ID only.
func (r Recipient) LogValue() slog.Value {
	return slog.GroupValue(slog.String("domain", r.domain), slog.String("key_id", r.keyID))
}

// MarshalJSON encodes the domain and key ID only.
func (r Recipient) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Domain string `json:"domain"`
		KeyID  string `json:"key_id"`
	}{r.domain, r.keyID})
}
