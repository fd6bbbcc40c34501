// Package disclosure protects the statistical tables of package table before
// they are published, so that no small group of people can be singled out.
// It offers three methods, documented in docs/disclosure.md:
//
//   - the cell key method (Statistics Sweden's method for individual-based
//     statistics from reference year 2025): a deterministic, small, unbiased
//     noise on every count, driven by a key per cell (PTable, Apply);
//   - rounding of every count to a base such as 3, 5 or 10 (Round);
//   - primary and secondary cell suppression with an exact audit by linear
//     programming of what the published cells reveal (Suppress, Audit).
//
// Every function is pure: it changes only the table it is given and does no
// I/O. Each records the method in Table.Method and a footnote in Table.Notes,
// which every export writes.
package disclosure
