package lake

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// Run IDs go into lake file names (part-<run id>-<n>.parquet). A random
// suffix of digits once made "…-068478-12" look like a phone number to
// gallra verify, failing a clean lake; the suffix is letters only.
func TestRunIDSuffixHasNoDigitsAndSortsByTime(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 7, 15, 39, 443e6, time.UTC)
	var ids []string
	for i := 0; i < 2000; i++ {
		id := NewRunID(t0.Add(time.Duration(i) * time.Millisecond))
		_, suffix, ok := strings.Cut(id, "Z-")
		if !ok || len(suffix) != 6 || strings.IndexAny(suffix, "0123456789") >= 0 {
			t.Fatalf("run ID %q: the suffix must be 6 letters", id)
		}
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Error("run IDs do not sort by start time")
	}
	if !strings.HasPrefix(ids[0], "20261123T071539.443Z-") {
		t.Errorf("run ID %q", ids[0])
	}
}
