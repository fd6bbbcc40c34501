package subject

import (
	"errors"
	"strings"
	"time"

	"github.com/gallra/gallra/pipeline/verify"
	"github.com/gallra/gallra/transforms/identity"
)

// MaxReferenceLen bounds a request reference.
const MaxReferenceLen = 64

// ErrReference is returned (wrapped) by CheckReference. Its messages never
// repeat the reference: a refused one may hold an identifier.
var ErrReference = errors.New("subject: unusable request reference")

// CheckReference reports whether ref can name a request in the run log: a
// case or diarie number such as "KS 2026/0142" or "DSO-2026-17". It must be
// 1 to MaxReferenceLen characters of A-Z, a-z, 0-9, space and . _ / : # -,
// and must not be or contain anything that looks like an identifier: a
// personnummer or samordningsnummer in any spelling (judged with
// transforms/identity against today), a reserve number, a birth date, or a
// phone number (judged by pipeline/verify's scanner). Write the request's
// identifiers in the request file, never in its reference.
func CheckReference(ref string) error {
	if ref == "" {
		return errors.Join(ErrReference, errors.New("a reference (the request's case number) is required"))
	}
	if len(ref) > MaxReferenceLen {
		return errors.Join(ErrReference, errors.New("longer than 64 characters"))
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte(" ._/:#-", c) >= 0) {
			return errors.Join(ErrReference, errors.New("only letters A-Z, digits, space and . _ / : # - are allowed"))
		}
	}
	today := time.Now().UTC()
	if _, err := identity.Parse(ref, today); err == nil {
		return errors.Join(ErrReference, errors.New("it reads as an identifier (personnummer, samordningsnummer, reserve number or birth date); use the case number"))
	}
	if looksIdentifying(ref, today) {
		return errors.Join(ErrReference, errors.New("it contains something that reads as an identifier or a phone number; use the case number"))
	}
	return nil
}

// looksIdentifying scans text as pipeline/verify scans files.
func looksIdentifying(text string, ref time.Time) bool {
	s := &verify.Scanner{IsIdentifier: isIdentifier(ref)}
	f, err := s.ScanText("reference", strings.NewReader(text))
	return err != nil || len(f) > 0
}

// isIdentifier judges a candidate the scanner found, as gallra verify does:
// a valid personnummer or samordningsnummer, also with a 12-digit year read
// as the 10-digit form.
func isIdentifier(ref time.Time) func(string) (string, bool) {
	judge := func(c string) (string, bool) {
		id, err := identity.Parse(c, ref)
		if err != nil || (id.Kind != identity.Personnummer && id.Kind != identity.Samordningsnummer) {
			return "", false
		}
		return id.Kind.String(), true
	}
	return func(c string) (string, bool) {
		if kind, ok := judge(c); ok {
			return kind, true
		}
		var d []byte
		for i := 0; i < len(c); i++ {
			if '0' <= c[i] && c[i] <= '9' {
				d = append(d, c[i])
			}
		}
		if len(d) == 12 {
			return judge(string(d[2:]))
		}
		return "", false
	}
}
