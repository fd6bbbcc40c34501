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
	"strings"

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
)

// maxDomainLen bounds a domain name.
const maxDomainLen = 64

// Key is a 32-byte master secret. The zero Key holds no secret; make one
// with [NewKey]. A Key is immutable and safe to copy and share between
// goroutines.
//
// A Key formats (fmt, all verbs), logs (log/slog) and marshals
// (encoding/json) as its public key ID only, never as its secret. Keys are
// not comparable with ==; use [Key.Equal].
type Key struct {
	id string
	// secret returns the master secret. Key material lives behind a func
	// value because reflection-based printers (fmt reaching an unexported
	// field, where methods cannot be called; debug dumpers) print a func as
	// an address, never as its contents.
	secret func() *[SecretSize]byte
}

// hide returns a func that yields v; see [Key].
func hide[T any](v *T) func() *T { return func() *T { return v } }

// ErrKey is returned (wrapped) by [NewKey] for an unusable secret.
var ErrKey = errors.New("pseudonym: invalid key")

// NewKey returns a Key holding a copy of secret, which must be exactly
// [SecretSize] bytes and not all zeros (an all-zero secret betrays an
// uninitialised buffer or a broken random source).
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
	var idb [8]byte
	derive(s[:], infoKeyID, idb[:])
	return Key{id: KeyIDPrefix + hex.EncodeToString(idb[:]), secret: hide(s)}, nil
}

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

// ID returns the public key ID, "gk1-" followed by 16 lowercase hex digits:
// the first 8 bytes of HKDF-SHA-256(secret, info="gallra key-id v1").
// It is "" for the zero Key.
//
// The ID is one-way output of a key derivation function over a uniformly
// random 256-bit secret, domain-separated from every pseudonym subkey: it
// identifies the key in lake rows and reports, and it gives no help in
// guessing the secret (there is nothing smaller than 2^256 to enumerate).
func (k Key) ID() string { return k.id }

// Equal reports whether k and o hold the same secret, in constant time.
func (k Key) Equal(o Key) bool {
	if k.IsZero() || o.IsZero() {
		return k.IsZero() && o.IsZero()
	}
	return subtle.ConstantTimeCompare(k.secret()[:], o.secret()[:]) == 1
}

// Secret returns a copy of the master secret, or nil for the zero Key.
// It exists for key storage (package keyfile) only: never log, print or
// store its result anywhere but a key file.
func (k Key) Secret() []byte {
	if k.IsZero() {
		return nil
	}
	s := make([]byte, SecretSize)
	copy(s, k.secret()[:])
	return s
}

// String returns the key ID, or "(no key)" for the zero Key.
func (k Key) String() string {
	if k.IsZero() {
		return "(no key)"
	}
	return k.id
}

// GoString implements fmt.GoStringer: the key ID only.
func (k Key) GoString() string { return fmt.Sprintf("pseudonym.Key(%q)", k.ID()) }

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
// domain. It reuses its HMAC state and buffers between calls, so it does
// not allocate per call and is NOT safe for concurrent use: give every
// goroutine its own [Pseudonymizer.Clone].
//
// Like [Key], a Pseudonymizer formats, logs and marshals as its domain and
// key ID only.
type Pseudonymizer struct {
	keyID  string
	domain string
	st     func() *pzState // behind a func value for the reason given at [Key]
}

// pzState is the key material and the reusable scratch of a Pseudonymizer.
type pzState struct {
	pkey [32]byte // pseudonym subkey
	rkey [32]byte // record-key subkey
	ph   hash.Hash
	rh   hash.Hash
	buf  []byte // the last input hashed: an identifier, hence hidden too
	sum  [sha256.Size]byte
}

func newPzState(pkey, rkey *[32]byte) *pzState {
	s := &pzState{pkey: *pkey, rkey: *rkey}
	s.ph = hmac.New(sha256.New, s.pkey[:])
	s.rh = hmac.New(sha256.New, s.rkey[:])
	s.buf = make([]byte, 0, 128)
	return s
}

// NewPseudonymizer derives the subkeys of domain from k. The domain names
// the purpose ("lake", "delivery.scb-2026", ...): pseudonyms of different
// domains are unlinkable. It must be 1 to 64 characters from [a-z0-9._-].
func NewPseudonymizer(k Key, domain string) (*Pseudonymizer, error) {
	if k.IsZero() {
		return nil, fmt.Errorf("%w: no key (zero Key)", ErrKey)
	}
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	var pkey, rkey [32]byte
	derive(k.secret()[:], infoPseudonym+domain, pkey[:])
	derive(k.secret()[:], infoRecordKey+domain, rkey[:])
	p := &Pseudonymizer{keyID: k.id, domain: domain, st: hide(newPzState(&pkey, &rkey))}
	clear(pkey[:])
	clear(rkey[:])
	return p, nil
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

// Pseudonym returns HMAC-SHA-256(pseudonym subkey, kind || 0x00 ||
// canonical) truncated to 16 bytes. kind names the identifier type
// ("pnr", "samnr", ...) so that equal digits of different kinds get
// different pseudonyms; canonical is the normalised identifier.
func (p *Pseudonymizer) Pseudonym(kind, canonical string) Pseudonym {
	s := p.st()
	b := appendField(s.buf[:0], kind)
	b = append(b, 0)
	b = appendField(b, canonical)
	return s.mac(s.ph, b)
}

// RecordKey returns HMAC-SHA-256(record-key subkey, parts joined with 0x00)
// truncated to 16 bytes: a stable, keyed key for a lake row, unlinkable to
// the pseudonyms of the same domain. No parts at all hash the single byte
// 0x01, which no list of escaped parts produces, so that RecordKey() and
// RecordKey("") differ.
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
	return s.mac(s.rh, b)
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

// appendField appends s, escaping 0x01 as 0x01 0x02 and 0x00 as 0x01 0x03
// so that joining fields with 0x00 stays injective.
func appendField(b []byte, s string) []byte {
	if strings.IndexByte(s, 0) < 0 && strings.IndexByte(s, 1) < 0 {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
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
	return &Pseudonymizer{keyID: p.keyID, domain: p.domain, st: hide(newPzState(&s.pkey, &s.rkey))}
}

// KeyID returns the ID of the key the subkeys were derived from.
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
